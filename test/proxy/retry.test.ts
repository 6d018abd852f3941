/** The retry stage through a real engine: loopback backends that fail in chosen ways. */
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import type { ServerResponse } from 'node:http';
import type { RetryPolicy, RouteEntry } from '../../src/table/index.ts';
import { client, connectSocket, engine, freePort, get, httpBackend, metricLines, metricValue, svc, table, LOOPBACK } from './helpers.ts';


const NO_HEALTH = { maxFails: 0, failDurationMs: 10_000 };

/** One Service on two endpoints (round robin, passive health off so both keep being picked). */
async function twoEndpoints(t: TestContext, ports: [number, number], route: Partial<RouteEntry>, limits = {}) {
  const port = await freePort();
  const e = engine(t, { limits: { retryBackoffBaseMs: 1, retryBackoffMaxMs: 5, ...limits } });
  const r = await e.apply(table([{ cluster: svc('server', ports, { loadBalancer: { kind: 'round-robin' }, passiveHealth: NO_HEALTH }), listenPort: port, route }]));
  assert.equal(r.ok, true, JSON.stringify(r));
  if (r.ok) assert.deepEqual(r.warnings, []);
  return { e, url: `http://${LOOPBACK}:${port}` };
}

const retryAll = (extra: Partial<RetryPolicy> = {}): RetryPolicy => ({ count: 2, on: 'true', codes: [], ...extra });

test('a refused connect is retried on the other endpoint, even when retry-on matches nothing', async (t) => {
  const ok = await httpBackend(t, (_req, res) => res.end('ok'));
  const dead = await freePort();
  const { e, url } = await twoEndpoints(t, [ok.port, dead], { retry: retryAll({ on: 'false' }) });
  const c = client(t);
  for (let i = 0; i < 10; i++) {
    const r = await get(c, `${url}/${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  assert.equal(ok.seen.length, 10);
  const retries = await metricValue(e, /^hostmesh_retries_total\{.*reason="connect"/);
  assert.ok(retries !== undefined && retries >= 4, `connect retries counted: ${retries}`);
});

test('retry series exist, one per reason, from the route\'s first request', async (t) => {
  const ok = await httpBackend(t, (_req, res) => res.end('ok'));
  const { e, url } = await twoEndpoints(t, [ok.port, ok.port + 0], { retry: retryAll() });
  assert.deepEqual(await metricLines(e, /^hostmesh_retries_total\{/), [], 'an idle route has none');
  assert.equal((await get(client(t), `${url}/`)).status, 200);
  const lines = await metricLines(e, /^hostmesh_retries_total\{/);
  assert.deepEqual(lines.map((l) => /reason="(\w+)"/.exec(l)![1]).toSorted(), ['connect', 'reset', 'status', 'timeout']);
  for (const l of lines) assert.match(l, /destination_namespace="test",destination_service="server",destination_port="80",backend="server",.* 0$/);
});

test('a status in retry-codes is retried on another endpoint; the last answer is passed on as is', async (t) => {
  const bad = await httpBackend(t, (_req, res) => { res.statusCode = 503; res.end('busy'); });
  const good = await httpBackend(t, (_req, res) => res.end('fine'));
  const { e, url } = await twoEndpoints(t, [bad.port, good.port], { retry: retryAll({ codes: [[502, 504]] }) });
  const c = client(t);
  for (let i = 0; i < 10; i++) {
    const r = await get(c, url);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'fine');
  }
  assert.ok(bad.seen.length >= 4, 'round robin sent some requests to the failing endpoint first');
  assert.equal(good.seen.length, 10);
  assert.equal(await metricValue(e, /^hostmesh_retries_total\{.*reason="status"/), bad.seen.length);

  // Both endpoints answer 503: retries run out and the client gets the backend's own 503.
  const bad2 = await httpBackend(t, (_req, res) => { res.statusCode = 503; res.end('busy'); });
  const both = await twoEndpoints(t, [bad.port, bad2.port], { retry: retryAll({ codes: [[503, 503]] }) });
  const seenBefore = bad.seen.length;
  const r = await get(c, both.url);
  assert.equal(r.status, 503);
  assert.equal(r.body, 'busy');
  assert.equal(bad.seen.length - seenBefore + bad2.seen.length, 3, 'first attempt and two retries');
});

test('retry-on decides which requests are retried after they reached the backend', async (t) => {
  const bad = await httpBackend(t, (_req, res) => { res.statusCode = 502; res.end('bad'); });
  const good = await httpBackend(t, (_req, res) => res.end('fine'));
  const { url } = await twoEndpoints(t, [bad.port, good.port], { retry: retryAll({ on: "method('GET')", codes: [[502, 502]] }) });
  const c = client(t);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(c, url, { method: 'DELETE' })).status);
  assert.deepEqual(statuses.toSorted(), [200, 200, 200, 502, 502, 502], 'DELETE is not retried: round robin shows both answers');
  for (let i = 0; i < 6; i++) assert.equal((await get(c, url)).status, 200, 'GET is');
});

test('a small POST body is held and sent again, byte for byte, to the next endpoint', async (t) => {
  const seenBodies: string[] = [];
  const reset = await httpBackend(t, (req, res) => {
    void buffer(req).then((b) => {
      seenBodies.push(`reset:${b.length}`);
      res.socket?.destroy();
    });
  });
  const echo = await httpBackend(t, (req, res) => {
    void buffer(req).then((b) => {
      seenBodies.push(`echo:${b.length}`);
      res.end(b);
    });
  });
  const { e, url } = await twoEndpoints(t, [reset.port, echo.port], { retry: retryAll() });
  const c = client(t);
  const payload = Buffer.alloc(60_000, 7);
  payload.write('start');
  for (let i = 0; i < 4; i++) {
    const r = await get(c, url, { method: 'POST', body: payload });
    assert.equal(r.status, 200);
    assert.equal(r.body, payload.toString());
  }
  // Chunked (no Content-Length) is held too.
  const r = await get(c, url, { method: 'PUT', body: Readable.from([payload.subarray(0, 10), payload.subarray(10)]) });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, payload.length);
  assert.ok(seenBodies.includes('reset:60000'), 'the failing endpoint did receive a whole body');
  assert.ok((await metricValue(e, /^hostmesh_retries_total\{.*reason="reset"/))! >= 2);
});

test('a body over the replay limit streams and is not retried once sent; the client sees the error', async (t) => {
  let attempts = 0;
  const reset = await httpBackend(t, (req, res) => {
    attempts++;
    void buffer(req).then(() => res.socket?.destroy());
  });
  const { url } = await twoEndpoints(t, [reset.port, reset.port], { retry: retryAll({ count: 3 }) });
  const r = await get(client(t), url, { method: 'POST', body: Buffer.alloc(1024 * 1024, 1) });
  assert.equal(r.status, 502);
  assert.equal(attempts, 1);
});

test('a chunked body larger than the limit streams on intact, in order, and is not retried once sent', async (t) => {
  const digests: string[] = [];
  const echo = await httpBackend(t, (req, res) => {
    void buffer(req).then((b) => {
      digests.push(createHash('sha256').update(b).digest('hex'));
      if (digests.length === 1) res.socket?.destroy();
      else res.end(String(b.length));
    });
  });
  const { url } = await twoEndpoints(t, [echo.port, echo.port], { retry: retryAll() }, { replayBodyBytes: 50_000 });
  const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(4096, i));
  const whole = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
  const c = client(t);
  assert.equal((await get(c, url, { method: 'POST', body: Readable.from(chunks) })).status, 502, 'reset after sending, too large to send again');
  const r = await get(c, url, { method: 'POST', body: Readable.from(chunks) });
  assert.equal(r.status, 200);
  assert.equal(r.body, String(40 * 4096));
  assert.deepEqual(digests, [whole, whole]);
});

test('a body of unknown length is copied while it streams, never held back: a conversation works', async (t) => {
  // The backend answers each line as it arrives; the client sends the next only after the answer.
  const talk = await httpBackend(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    req.setEncoding('utf8');
    req.on('data', (d: string) => res.write(`re:${d}`));
    req.on('end', () => res.end('bye'));
  });
  const { url } = await twoEndpoints(t, [talk.port, talk.port], { retry: retryAll() });
  const session = h2connect(url);
  session.on('error', () => {});
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'POST', ':path': '/chat' });
  req.setEncoding('utf8');
  const got: string[] = [];
  const lines = ['one', 'two', 'three'];
  const done = new Promise<void>((resolve, reject) => {
    req.on('data', (d: string) => {
      got.push(d);
      const next = lines.shift();
      if (next !== undefined) req.write(next);
      else if (!req.writableEnded) req.end();
    });
    req.on('end', () => resolve());
    req.on('error', reject);
  });
  req.write('hello');
  await done;
  assert.equal(got.join(''), 're:hellore:onere:twore:threebye');
});

test('a large streamed body is retried after a refused connect: the body was never read', async (t) => {
  const sizes: number[] = [];
  const ok = await httpBackend(t, (req, res) => {
    void buffer(req).then((b) => {
      sizes.push(b.length);
      res.end(String(b.length));
    });
  });
  const dead = await freePort();
  const { url } = await twoEndpoints(t, [ok.port, dead], { retry: retryAll({ on: 'false' }) });
  const c = client(t);
  for (let i = 0; i < 4; i++) {
    const r = await get(c, url, { method: 'POST', body: Buffer.alloc(1024 * 1024, 3) });
    assert.equal(r.status, 200);
    assert.equal(r.body, String(1024 * 1024));
  }
  assert.deepEqual(sizes, [1048576, 1048576, 1048576, 1048576]);
});

test('nothing is retried once the response head reached the client', async (t) => {
  let attempts = 0;
  const dies = await httpBackend(t, (_req, res: ServerResponse) => {
    attempts++;
    res.writeHead(200, { 'content-length': '1000' });
    res.write('partial', () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const { url } = await twoEndpoints(t, [dies.port, dies.port], { retry: retryAll({ count: 3, codes: [[500, 599]] }) });
  await assert.rejects(get(client(t), url));
  assert.equal(attempts, 1);
});

test('retries stop at the request timeout: the client gets 504 and attempts stay bounded', async (t) => {
  let attempts = 0;
  const slow = await httpBackend(t, (_req, res) => {
    attempts++;
    setTimeout(() => { res.statusCode = 503; res.end('slow'); }, 100);
  });
  const { url } = await twoEndpoints(t, [slow.port, slow.port], { requestTimeoutMs: 450, retry: retryAll({ count: 100, codes: [[503, 503]] }) });
  const r = await get(client(t), url);
  assert.equal(r.status, 504);
  assert.ok(attempts >= 2 && attempts <= 5, `attempts ${attempts}`);
  const before = attempts;
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The attempt on the wire when the 504 went out may still arrive late on a loaded machine;
  // retrying on would add two or three more in 300 ms.
  assert.ok(attempts - before <= 1, `${attempts - before} attempts reached the backend after the answer`);
});

test('retry-duration alone bounds the retries', async (t) => {
  let attempts = 0;
  const slow = await httpBackend(t, (_req, res) => {
    attempts++;
    setTimeout(() => { res.statusCode = 502; res.end('bad'); }, 60);
  });
  const { url } = await twoEndpoints(t, [slow.port, slow.port], { retry: { durationMs: 200, on: 'true', codes: [[502, 502]] } });
  const r = await get(client(t), url);
  assert.equal(r.status, 502);
  assert.equal(r.body, 'bad');
  assert.ok(attempts >= 2 && attempts <= 5, `attempts ${attempts}`);
});

test('h2c clients: a small body of unknown length is copied on the way and retried', async (t) => {
  const reset = await httpBackend(t, (req, res) => void buffer(req).then(() => res.socket?.destroy()));
  const echo = await httpBackend(t, (req, res) => void buffer(req).then((b) => res.end(`got ${b.length}`)));
  const { url } = await twoEndpoints(t, [reset.port, echo.port], { retry: retryAll() });
  const session = h2connect(url);
  session.on('error', () => {});
  t.after(() => session.destroy());
  for (let i = 0; i < 4; i++) {
    const req = session.request({ ':method': 'POST', ':path': '/up' });
    const text = await new Promise<string>((resolve, reject) => {
      let s = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => { s += d; });
      req.on('end', () => resolve(s));
      req.on('error', reject);
      req.write(Buffer.alloc(30_000, 1));
      req.end(Buffer.alloc(10_000, 2));
    });
    assert.equal(text, 'got 40000');
  }
});

test('a backend answering before reading a chunked body leaves the client connection usable', async (t) => {
  const early = await httpBackend(t, (req, res) => {
    res.statusCode = 413;
    res.end('too big');
    req.resume();
  });
  const { url } = await twoEndpoints(t, [early.port, early.port], { retry: retryAll() });
  const port = Number(new URL(url).port);
  const s = connectSocket(port);
  t.after(() => s.destroy());
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => { got += d; });
  s.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  const waitFor = async (re: RegExp) => {
    const end = Date.now() + 5000;
    while (!re.test(got)) {
      assert.ok(Date.now() < end, `no ${re} in ${JSON.stringify(got)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await waitFor(/too big/);
  s.write(`${'1000\r\n' + 'x'.repeat(4096) + '\r\n'}`.repeat(8) + '0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  await waitFor(/HTTP\/1.1 413[\s\S]*HTTP\/1.1 413/);
});

test('an upgrade (WebSocket) whose connect is refused is retried on the other endpoint', async (t) => {
  const ws = await httpBackend(t, (_req, res) => res.end('not an upgrade'));
  ws.server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  const dead = await freePort();
  const { url } = await twoEndpoints(t, [ws.port, dead], { retry: retryAll({ on: 'false' }) });
  const port = Number(new URL(url).port);
  for (let i = 0; i < 4; i++) {
    const s = connectSocket(port);
    t.after(() => s.destroy());
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (got.endsWith('\r\n\r\n')) s.write(`ping${i}`);
    });
    s.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const end = Date.now() + 5000;
    while (!got.includes(`ping${i}`)) {
      assert.ok(Date.now() < end, JSON.stringify(got));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match(got, /^HTTP\/1.1 101/);
    s.destroy();
  }
});
