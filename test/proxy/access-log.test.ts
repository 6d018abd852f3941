/**
 * The JSON access log: line contents for plain requests, HTTP/2, errors and WebSocket tunnels
 * through a real engine; chunking into whole lines; the asynchronous descriptor writer.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, MAX_CHUNK_BYTES, accessLine } from '../../src/proxy/access-log.ts';
import { FdSink } from '../../src/proxy/access-log-writer.ts';
import type { Exchange } from '../../src/proxy/http/exchange.ts';
import { LOOPBACK, client, engine, freePort, get, httpBackend, svc, table } from './helpers.ts';

type Line = Record<string, unknown>;

function collector() {
  const chunks: string[] = [];
  const lines = (): Line[] => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
  return { sink: { write: (c: string) => chunks.push(c) }, chunks, lines };
}

/** Waits (bounded) until `n` lines arrived: they are handed over at the end of a loop turn. */
async function linesAtLeast(lines: () => Line[], n: number): Promise<Line[]> {
  for (let i = 0; i < 300 && lines().length < n; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return lines();
}

async function echoEngine(t: TestContext, sink: { write(c: string): unknown }) {
  const backend = await httpBackend(t, (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.on('end', () => res.end(`got ${n} bytes`));
  });
  const port = await freePort();
  const e = engine(t, { accessLog: sink });
  const r = await e.apply(table([
    { cluster: svc('web', [backend.port]), listenPort: port },
    { cluster: svc('down', []), listenPort: await freePort() },
  ]));
  assert.ok(r.ok);
  return { e, port, backend, downPort: Number(e.routes().find((x) => x.route === 'test/down:80')!.listen.split(':')[1]) };
}

test('access log: one line per request with body sizes, backend, endpoint, client, agent and trace', async (t) => {
  const { sink, lines } = collector();
  const { port, backend, downPort } = await echoEngine(t, sink);
  const agent = client(t);
  const body = Buffer.alloc(70_000, 7);
  const posted = await get(agent, `http://${LOOPBACK}:${port}/upload?token=secret`, { method: 'POST', body, headers: { 'user-agent': 'uploader/2' } });
  assert.equal(posted.body, 'got 70000 bytes');
  const down = await get(agent, `http://${LOOPBACK}:${downPort}/`, { method: 'GET', headers: { accept: 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
  assert.equal(down.status, 503);

  const [up, failed] = await linesAtLeast(lines, 2) as [Line, Line];
  assert.equal(up.path, '/upload');
  assert.equal(up.method, 'POST');
  assert.equal(up.status, 200);
  assert.equal(up.bytesIn, 70_000);
  assert.equal(up.bytesOut, Buffer.byteLength(posted.body));
  assert.equal(up.backend, 'test/web:80');
  assert.equal(up.endpoint, `127.0.0.1:${backend.port}`);
  assert.equal(up.client, '127.0.0.1');
  assert.equal(up.userAgent, 'uploader/2');
  assert.match(up.traceparent as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(up.retries, undefined, 'no retries, no field');
  assert.equal(failed.status, 503);
  assert.equal(failed.endpoint, null);
  assert.equal(failed.bytesOut, Buffer.byteLength(down.body));
  assert.equal(failed.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'a valid incoming trace is logged even when nothing left the mesh');
});

test('access log: HTTP/2 requests keep the client address although the stream has closed', async (t) => {
  const { sink, lines } = collector();
  const { port } = await echoEngine(t, sink);
  const c = h2connect(`http://${LOOPBACK}:${port}`);
  c.on('error', () => {});
  t.after(() => c.destroy());
  for (const path of ['/one', '/two?x=1']) {
    const req = c.request({ ':path': path, 'user-agent': 'h2-client' });
    await new Promise<void>((resolve, reject) => {
      req.on('data', () => {});
      req.on('end', resolve);
      req.on('error', reject);
      req.end();
    });
  }
  const got = await linesAtLeast(lines, 2);
  assert.deepEqual(got.map((l) => [l.path, l.status, l.client, l.userAgent]), [['/one', 200, '127.0.0.1', 'h2-client'], ['/two', 200, '127.0.0.1', 'h2-client']]);
});

test('access log: a WebSocket tunnel is one line, written when it closes, with the bytes it carried', async (t) => {
  const { sink, lines } = collector();
  // A minimal WebSocket server: accepts the handshake, then echoes raw frames back as they are.
  const backend = await httpBackend(t, (_req, res) => res.end('no upgrade'));
  const { createHash } = await import('node:crypto');
  backend.server.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
    socket.on('data', (frame: Buffer) => {
      // Unmask a small client text frame and send it back unmasked.
      const len = frame[1]! & 0x7f;
      const mask = frame.subarray(2, 6);
      const payload = Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
      if ((frame[0]! & 0x0f) === 8) socket.end(Buffer.from([0x88, 0]));
      else socket.write(Buffer.concat([Buffer.from([0x81, len]), payload]));
    });
    socket.on('error', () => {});
  });
  const port = await freePort();
  const e = engine(t, { accessLog: sink });
  assert.ok((await e.apply(table([{ cluster: svc('chat', [backend.port]), listenPort: port }]))).ok);
  const ws = new WebSocket(`ws://${LOOPBACK}:${port}/chat?room=1`);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => ws.send('hello there');
    ws.onmessage = () => resolve();
    ws.onerror = () => reject(new Error('websocket error'));
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(lines().length, 0, 'nothing is logged while the tunnel is open');
  ws.close();
  const [line] = await linesAtLeast(lines, 1) as [Line];
  assert.equal(line.status, 101);
  assert.equal(line.path, '/chat');
  assert.equal(line.backend, 'test/chat:80');
  assert.ok((line.bytesIn as number) >= 17 && (line.bytesIn as number) < 200, `client frames: ${String(line.bytesIn)}`);
  assert.ok((line.bytesOut as number) > 100, `response head and frames: ${String(line.bytesOut)}`);
});

function fakeExchange(over: Record<string, unknown>): Exchange {
  return {
    start: performance.now() - 12.3456,
    route: { id: 'test/web:80' },
    method: 'GET',
    req: { url: '/', rawHeaders: [] },
    status: 200,
    body: undefined,
    bytesIn: 0,
    bytesOut: 0,
    backend: undefined,
    endpoint: undefined,
    client: '10.0.0.1',
    traceparent: undefined,
    attempts: 1,
    identity: () => undefined,
    ...over,
  } as unknown as Exchange;
}

test('access line: retries, absolute-form targets, escaping, buffered bodies', () => {
  const line = JSON.parse(accessLine(fakeExchange({
    attempts: 3,
    method: 'PO"ST',
    req: { url: 'http://host.example/a/b?c=d', rawHeaders: ['User-Agent', 'x\u0001"\\y'] },
    body: Buffer.alloc(42),
  }), performance.now())) as Line;
  assert.equal(line.retries, 2);
  assert.equal(line.path, '/a/b');
  assert.equal(line.method, 'PO"ST');
  assert.equal(line.userAgent, 'x\u0001"\\y');
  assert.equal(line.bytesIn, 42);
  assert.ok((line.durationMs as number) >= 12.345);
  assert.equal(JSON.parse(accessLine(fakeExchange({ req: { url: '', rawHeaders: [] } }), performance.now())).path, '/');
});

test('access log chunks: whole lines, at most PIPE_BUF bytes each, a long line alone', () => {
  const chunks: string[] = [];
  const log = new AccessLog({ write: (c: string) => chunks.push(c) });
  const paths = Array.from({ length: 200 }, (_, i) => `/${'é'.repeat(i % 50)}${i}`);
  paths.push(`/${'x'.repeat(6000)}`);
  for (const p of paths) log.record(fakeExchange({ req: { url: p, rawHeaders: [] } }));
  assert.equal(chunks.length, 0, 'lines wait for the end of the loop turn');
  log.flush();
  assert.ok(chunks.length > 2);
  for (const c of chunks) {
    assert.ok(c.endsWith('\n'));
    if (!c.includes('xxxx')) assert.ok(Buffer.byteLength(c) <= MAX_CHUNK_BYTES, `${Buffer.byteLength(c)} bytes`);
    else assert.equal(c.split('\n').length, 2, 'the oversized line is a chunk of its own');
  }
  const all = chunks.join('').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as Line).path);
  assert.deepEqual(all, paths);
});

test('fd writer: writes every chunk in order asynchronously, drops beyond its queue limit, survives a bad descriptor', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const fd = openSync(file, 'w');
  t.after(() => closeSync(fd));
  const problems: string[] = [];
  const sink = new FdSink(fd, { maxQueuedBytes: 64 * 1024, onProblem: (m) => problems.push(m) });
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) {
    const chunk = `{"n":${i}}\n`.repeat(50);
    sink.write(chunk);
    expected.push(chunk);
  }
  await sink.idle();
  assert.equal(readFileSync(file, 'utf8'), expected.join(''));
  assert.equal(problems.length, 0);

  for (let i = 0; i < 200; i++) sink.write('z'.repeat(1000));
  assert.ok(sink.dropped > 100, `dropped ${sink.dropped}`);
  assert.equal(problems.length, 1, 'one warning per episode');
  await sink.idle();
  assert.equal(readFileSync(file, 'utf8').length, expected.join('').length + (200 - sink.dropped) * 1000);

  const broken = new FdSink(987_654, { onProblem: (m) => problems.push(m) });
  broken.write('a\n');
  broken.write('b\n');
  await broken.idle();
  broken.write('c\n');
  await broken.idle();
  assert.equal(problems.length, 2);
  assert.match(problems[1]!, /descriptor 987654 failed \(EBADF\); access logging stops/);
});

test('engine close flushes the access log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const fd = openSync(file, 'w');
  t.after(() => closeSync(fd));
  const { e, port } = await echoEngine(t, new FdSink(fd));
  const agent = client(t);
  for (let i = 0; i < 20; i++) await get(agent, `http://${LOOPBACK}:${port}/n/${i}`);
  await e.close();
  const paths = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Line).path);
  assert.deepEqual(paths, Array.from({ length: 20 }, (_, i) => `/n/${i}`));
});
