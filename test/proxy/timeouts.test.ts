import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { client, connectSocket, engine, freePort, get, httpBackend, metricValue, svc, table, tcpServer } from './helpers.ts';

test('a dial that does not complete in time answers 504 and counts a connect error', async (t) => {
  // TLS to a server that accepts TCP but never answers the handshake: the dial hangs.
  const mute = await tcpServer(t, () => {});
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [mute.port], { scheme: 'https', dialTimeoutMs: 150 }), listenPort: port }]));
  const c = client(t);
  const r = await get(c, `http://127.0.0.1:${port}/`);
  assert.equal(r.status, 504);
  assert.match(r.body, /test\/server:80 did not accept a connection in time/);
  assert.equal(await metricValue(e, /^hostmesh_upstream_connect_errors_total\{destination_namespace="test",destination_service="server"/), 1);
});

test('read timeout: a backend that does not answer gets 504', async (t) => {
  const b = await httpBackend(t, () => { /* never answers */ });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port], { readTimeoutMs: 150 }), listenPort: port }]));
  const r = await get(client(t), `http://127.0.0.1:${port}/`);
  assert.equal(r.status, 504);
  assert.match(r.body, /did not answer in time/);
});

test('read timeout: a backend stalling mid-body gets the client connection cut', async (t) => {
  const b = await httpBackend(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('x'.repeat(10));
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port], { readTimeoutMs: 150 }), listenPort: port }]));
  const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: client(t) });
  assert.equal(r.statusCode, 200);
  await assert.rejects(r.body.text());
});

test('read timeout does not fire while the client, not the backend, is slow', async (t) => {
  const size = 8 * 1024 * 1024;
  const b = await httpBackend(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    res.end(Buffer.alloc(size, 7));
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port], { readTimeoutMs: 300 }), listenPort: port }]));
  const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: client(t) });
  assert.equal(r.statusCode, 200);
  await sleep(1000); // the proxy stops reading from the backend meanwhile (backpressure)
  let n = 0;
  for await (const chunk of r.body) n += (chunk as Buffer).length;
  assert.equal(n, size);
});

test('write timeout: a backend that stops reading the request body gets 504 (or a cut upload)', async (t) => {
  const stuck = await tcpServer(t, (s) => s.once('data', () => s.pause()));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [stuck.port], { writeTimeoutMs: 200 }), listenPort: port }]));
  const chunk = Buffer.alloc(256 * 1024, 1);
  async function* body() {
    for (let i = 0; i < 400; i++) yield chunk; // 100 MB at most; the proxy gives up long before
  }
  const outcome = await request(`http://127.0.0.1:${port}/upload`, { dispatcher: client(t), method: 'PUT', body: Readable.from(body()) })
    .then(async (r) => ({ status: r.statusCode, body: await r.body.text() }), (err: Error) => ({ status: 0, body: err.message }));
  if (outcome.status !== 0) {
    assert.equal(outcome.status, 504);
    assert.match(outcome.body, /did not accept the request in time/);
  }
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*code="504",method="PUT"\}/), 1);
});

test('request timeout: 504 before the response head, a cut connection after it', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    if (req.url === '/slow-head') setTimeout(() => res.end('late'), 3000).unref();
    else {
      res.writeHead(200, { 'content-length': '10' });
      res.write('x');
    }
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port, route: { requestTimeoutMs: 200 } }]));
  const c = client(t);
  const r = await get(c, `http://127.0.0.1:${port}/slow-head`);
  assert.equal(r.status, 504);
  assert.match(r.body, /did not complete the request in time/);
  const started = await request(`http://127.0.0.1:${port}/slow-body`, { dispatcher: c });
  assert.equal(started.statusCode, 200);
  await assert.rejects(started.body.text());
});

test('a client that trickles its request head is cut off (408); a silent one is dropped', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const port = await freePort();
  const e = engine(t, { limits: { headersTimeoutMs: 300, connectionsCheckingIntervalMs: 50 } });
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));

  const trickle = connectSocket(port);
  let got = '';
  trickle.setEncoding('latin1');
  trickle.on('data', (d: string) => { got += d; });
  trickle.on('error', () => {});
  trickle.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const iv = setInterval(() => trickle.write('X-Slow: 1\r\n'), 50);
  await new Promise((resolve) => trickle.on('close', resolve));
  clearInterval(iv);
  assert.match(got, /^HTTP\/1\.1 408/);
  assert.equal(b.seen.length, 0);

  const silent = connectSocket(port);
  silent.on('error', () => {});
  await new Promise((resolve) => silent.on('close', resolve));
});

test('an oversized request head is refused with 431', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const port = await freePort();
  const e = engine(t, { limits: { maxHeaderSize: 4096 } });
  await e.apply(table([{ cluster: svc('server', [b.port]), listenPort: port }]));
  const r = await get(client(t), `http://127.0.0.1:${port}/`, { method: 'GET', headers: { 'x-big': 'y'.repeat(8000) } }).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
  assert.equal(r.status, 431);
  assert.equal(b.seen.length, 0);
});
