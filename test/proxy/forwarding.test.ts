import { Readable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, connectSocket, engine, freePort, get, httpBackend, metricValue, namedBackend, parseHead, rawExchange, svc, table, tcpServer } from './helpers.ts';

test('the listener port picks the route, whatever the Host header says', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'alpha'), namedBackend(t, 'beta')]);
  const [pa, pb] = [await freePort(), await freePort()];
  const e = engine(t);
  const r = await e.apply(table([{ cluster: svc('alpha', [a.port]), listenPort: pa }, { cluster: svc('beta', [b.port]), listenPort: pb }]));
  assert.equal(r.ok, true);
  const c = client(t);
  for (const [port, name] of [[pa, 'alpha'], [pb, 'beta']] as const) {
    const reply = await get(c, `http://127.0.0.1:${port}/x`, { method: 'GET', headers: { host: 'beta.test.hostmesh' } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, name);
  }
});

test('hop-by-hop headers are stripped both ways; X-Forwarded-* added; Host kept', async (t) => {
  const b = await httpBackend(t, (_req, res) => {
    res.setHeader('Connection', 'X-Resp-Drop');
    res.setHeader('X-Resp-Drop', '1');
    res.setHeader('Keep-Alive', 'timeout=9');
    res.setHeader('Proxy-Connection', 'keep-alive');
    res.setHeader('Trailer', 'X-Later');
    res.setHeader('Upgrade', 'foo/1');
    res.setHeader('X-Kept', 'yes');
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end('ok');
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const raw = await rawExchange(port,
    'GET /path?q=1 HTTP/1.1\r\nHost: server.test.hostmesh\r\nConnection: close, X-Drop-Me, Upgrade, HTTP2-Settings\r\nX-Drop-Me: 1\r\n' +
    'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Foo\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n' +
    'X-Forwarded-For: 203.0.113.7\r\nX-Custom: kept\r\n\r\n');
  const got = b.seen[0]!.headers;
  assert.equal(got.host, 'server.test.hostmesh');
  assert.equal(got['x-drop-me'], undefined, 'headers listed in Connection are dropped');
  for (const h of ['keep-alive', 'proxy-connection', 'trailer', 'upgrade', 'transfer-encoding', 'http2-settings']) assert.equal(got[h], undefined, h);
  assert.equal(got.te, 'trailers', 'TE: trailers passes (gRPC)');
  assert.equal(got['x-custom'], 'kept');
  assert.equal(got['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(got['x-forwarded-proto'], 'http');
  assert.equal(got['x-forwarded-host'], 'server.test.hostmesh');
  assert.equal(b.seen[0]!.url, '/path?q=1');

  const res = parseHead(raw);
  assert.equal(res.status, 200);
  // The backend announced a trailer, so it sent no length: the body arrives chunked.
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  assert.equal(res.body, '2\r\nok\r\n0\r\n\r\n');
  for (const h of ['x-resp-drop', 'proxy-connection', 'trailer', 'upgrade']) assert.equal(res.headers.get(h), undefined, h);
  assert.notEqual(res.headers.get('keep-alive'), 'timeout=9', "the backend's Keep-Alive never reaches the client");
  assert.equal(res.headers.get('x-kept'), 'yes');
  assert.equal(res.headers.get('set-cookie'), 'a=1, b=2', 'repeated headers stay repeated');
});

test('X-Forwarded-Proto and -Host set by an ingress in front are kept', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const c = client(t);
  await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example.com' } });
  assert.equal(b.seen[0]!.headers['x-forwarded-proto'], 'https');
  assert.equal(b.seen[0]!.headers['x-forwarded-host'], 'shop.example.com');
});

test('a refused dial answers 502 naming the service, never the address', async (t) => {
  const deadPort = await freePort();
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [deadPort]), listenPort: port }]));
  const c = client(t);
  const text = await get(c, `http://127.0.0.1:${port}/`);
  assert.equal(text.status, 502);
  assert.match(String(text.headers['content-type']), /^text\/plain/);
  assert.match(text.body, /^502 Bad Gateway: test\/server:80 could not be reached/);
  assert.ok(!text.body.includes('127.0.0.1') && !text.body.includes(String(deadPort)), text.body);
  const json = await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { accept: 'application/json' } });
  assert.equal(json.status, 502);
  assert.deepEqual(JSON.parse(json.body), { status: 502, error: 'Bad Gateway', service: 'test/server:80', reason: 'test/server:80 could not be reached' });
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*code="502",method="GET"\}/), 2);
  assert.equal(await metricValue(e, /^hostmesh_upstream_connect_errors_total\{destination_namespace="test",destination_service="server"/), 2);
});

test('no ready endpoints answers 503 with Retry-After and a page naming the service', async (t) => {
  const port = await freePort();
  const e = engine(t, { limits: { retryAfterSeconds: 7 } });
  await e.apply(table([{ cluster: svc('server', []), listenPort: port }]));
  const c = client(t);
  const html = await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { accept: 'text/html,*/*' } });
  assert.equal(html.status, 503);
  assert.equal(html.headers['retry-after'], '7');
  assert.match(String(html.headers['content-type']), /^text\/html/);
  assert.match(html.body, /<b>test\/server:80<\/b> has no ready endpoints/);
  assert.equal(html.headers.connection, 'keep-alive', 'an error page without a pending body keeps the connection');
  const json = await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { accept: 'application/json' } });
  assert.equal(json.status, 503);
  assert.equal(JSON.parse(json.body).reason, 'test/server:80 has no ready endpoints');
  const head = await get(c, `http://127.0.0.1:${port}/`, { method: 'HEAD' });
  assert.equal(head.status, 503);
  assert.equal(head.body, '');
});

test('a dead endpoint is skipped after its dial fails (passive health)', async (t) => {
  const live = await namedBackend(t, 'live');
  const deadPort = await freePort();
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [deadPort, live.port], { loadBalancer: { kind: 'round-robin' }, passiveHealth: { maxFails: 1, failDurationMs: 60_000 } }), listenPort: port }]));
  const c = client(t);
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await get(c, `http://127.0.0.1:${port}/`)).status);
  assert.ok(statuses.filter((s) => s === 502).length <= 1, `at most the first dial fails: ${statuses}`);
  assert.ok(statuses.filter((s) => s === 200).length >= 11, `${statuses}`);
  assert.ok(live.seen.length >= 11);
});

test('a backend that closes without answering gives 502; a bad response head gives 502', async (t) => {
  const closer = await tcpServer(t, (s) => s.once('data', () => s.destroy()));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [closer.port]), listenPort: port }]));
  const c = client(t);
  const r = await get(c, `http://127.0.0.1:${port}/`);
  assert.equal(r.status, 502);
  assert.match(r.body, /closed the connection without a response/);

  const garbler = await tcpServer(t, (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\nok')));
  const port2 = await freePort();
  await e.apply(table([{ cluster: svc('server', [closer.port]), listenPort: port }, { cluster: svc('garbled', [garbler.port]), listenPort: port2 }], 2));
  const g = await get(c, `http://127.0.0.1:${port2}/`);
  assert.equal(g.status, 502);
});

test('request and response bodies stream through, both ways, with chunked encoding', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    res.writeHead(201, { 'content-type': 'application/octet-stream' });
    req.on('data', (d: Buffer) => res.write(d.toString().toUpperCase()));
    req.on('end', () => res.end('!'));
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const c = client(t);
  async function* parts() {
    for (let i = 0; i < 20; i++) yield Buffer.from(`part${i};`);
  }
  const r = await get(c, `http://127.0.0.1:${port}/up`, { method: 'POST', body: Readable.from(parts()) });
  assert.equal(r.status, 201);
  assert.equal(r.body, `${Array.from({ length: 20 }, (_, i) => `PART${i};`).join('')}!`);
  assert.equal(b.seen[0]!.headers['transfer-encoding'], 'chunked');
});

test('a client that goes away mid-response cancels the backend request (recorded as 499)', async (t) => {
  let backendClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => { backendClosed = resolve; });
  const b = await httpBackend(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part\n');
    res.on('close', () => backendClosed());
    // ...and never finishes on its own.
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const raw = await new Promise<string>((resolve) => {
    const s = connectSocket(port);
    s.setEncoding('latin1');
    s.on('data', (d: string) => { if (d.includes('first part')) { s.destroy(); resolve(d); } });
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  assert.match(raw, /^HTTP\/1\.1 200/);
  await closed;
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*code="499",method="GET"\}/), 1);
});

test('HEAD requests get the head only; 204 and 304 pass through', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    if (req.url === '/204') { res.writeHead(204); res.end(); return; }
    if (req.url === '/304') { res.writeHead(304, { etag: '"v1"' }); res.end(); return; }
    res.writeHead(200, { 'content-length': '5', 'content-type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const c = client(t);
  const head = await get(c, `http://127.0.0.1:${port}/`, { method: 'HEAD' });
  assert.deepEqual([head.status, head.headers['content-length'], head.body], [200, '5', '']);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'hello', 'the connection is still usable after HEAD');
  assert.equal((await get(c, `http://127.0.0.1:${port}/204`)).status, 204);
  const nm = await get(c, `http://127.0.0.1:${port}/304`, { method: 'GET', headers: { 'if-none-match': '"v1"' } });
  assert.deepEqual([nm.status, nm.headers.etag], [304, '"v1"']);
});
