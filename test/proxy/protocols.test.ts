import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as h2connect, createServer as createH2Server } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { client, closeServer, engine, freePort, get, httpBackend, LOOPBACK, svc, table } from './helpers.ts';

const fixtures = new URL('../fixtures/', import.meta.url);

/** Minimal WebSocket server side: handshake, then echo every data frame unmasked. */
function acceptWebSocket(req: { headers: IncomingHttpHeaders }, socket: Duplex, head: Buffer): void {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
    '\r\n');
  let buf = head;
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buf = buf.subarray(off + 4 + len);
      const hdr = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length])
        : payload.length < 65536 ? Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 255])
          : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(payload.length)); return b; })()]);
      socket.write(Buffer.concat([hdr, payload]));
      if (opcode === 8) { socket.end(); return; }
    }
  };
  socket.on('data', onData);
  socket.on('error', () => {});
}

test('WebSocket: the upgrade is relayed and frames echo both ways', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('plain'));
  const upgrades: IncomingHttpHeaders[] = [];
  b.server.on('upgrade', (req: { headers: IncomingHttpHeaders }, socket: Duplex, head: Buffer) => {
    upgrades.push(req.headers);
    acceptWebSocket(req, socket, head);
  });
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('chat', [b.port]), listenPort: port }]));
  const ws = new WebSocket(`ws://${LOOPBACK}:${port}/chat`);
  const messages: string[] = [];
  const big = 'z'.repeat(70_000);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => { ws.send('hello'); ws.send(big); };
    ws.onmessage = (m) => {
      messages.push(String(m.data));
      if (messages.length === 2) ws.close();
    };
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error('websocket error'));
  });
  assert.deepEqual(messages, ['hello', big]);
  assert.equal(upgrades[0]!.upgrade, 'websocket');
  assert.match(String(upgrades[0]!.connection), /upgrade/i);
  assert.equal(upgrades[0]!['x-forwarded-for'], '127.0.0.1');
  assert.ok(upgrades[0]!['sec-websocket-key']);
  const lines = (await e.registry.metrics()).split('\n').filter((l) => l.startsWith('hostmesh_requests_total{') && l.includes('code="101"'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, / 1$/);
});

test('WebSocket to a missing backend gets a plain 502 on the raw connection', async (t) => {
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('chat', [await freePort()]), listenPort: port }]));
  const ws = new WebSocket(`ws://${LOOPBACK}:${port}/chat`);
  const failed = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(false);
    ws.onerror = () => resolve(true);
  });
  assert.equal(failed, true);
  const lines = (await e.registry.metrics()).split('\n').filter((l) => l.startsWith('hostmesh_requests_total{') && l.includes('code="502"'));
  assert.match(lines[0] ?? '', / 1$/);
});

async function h2Backend(t: TestContext, onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): Promise<number> {
  const server = createH2Server();
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => sessions.add(s));
  t.after(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

function h2Client(t: TestContext, port: number): ClientHttp2Session {
  const c = h2connect(`http://${LOOPBACK}:${port}`);
  c.on('error', () => {});
  t.after(() => c.destroy());
  return c;
}

/** A gRPC-style echo: the response body is the request body, then trailers. */
function grpcEcho(seen: IncomingHttpHeaders[]) {
  return (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    seen.push(headers);
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'done' }));
      stream.end(Buffer.concat(parts));
    });
  };
}

test('h2c client (gRPC style) -> h2c backend: body, headers and trailers end to end', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const backendPort = await h2Backend(t, grpcEcho(seen));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('grpc', [backendPort], { scheme: 'h2c' }), listenPort: port }]));
  const c = h2Client(t, port);
  const payload = Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]);
  for (let round = 0; round < 3; round++) {
    const req = c.request({ ':method': 'POST', ':path': '/pkg.Echo/Say', 'content-type': 'application/grpc', 'te': 'trailers' });
    const got = await new Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const parts: Buffer[] = [];
      req.on('response', (h) => { headers = h; });
      req.on('trailers', (h) => { trailers = h; });
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => resolve({ headers, trailers, body: Buffer.concat(parts) }));
      req.on('error', reject);
      req.end(payload);
    });
    assert.equal(got.headers[':status'], 200);
    assert.equal(got.headers['content-type'], 'application/grpc');
    assert.deepEqual(got.body, payload);
    assert.equal(got.trailers['grpc-status'], '0');
    assert.equal(got.trailers['grpc-message'], 'done');
  }
  assert.equal(seen.length, 3);
  assert.equal(seen[0]!.te, 'trailers');
  assert.equal(seen[0]![':path'], '/pkg.Echo/Say');
  assert.equal(seen[0]!['x-forwarded-for'], '127.0.0.1');
});

test('h1 client -> h2c backend, and h2c client -> h1 backend', async (t) => {
  const h2Port = await h2Backend(t, (stream, headers) => {
    stream.respond({ ':status': 200, 'x-proto': 'h2' });
    stream.end(`h2 saw ${headers[':method']} ${headers[':path']} authority=${headers[':authority']}`);
  });
  const h1 = await httpBackend(t, (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.on('end', () => res.end(`h1 saw ${req.method} ${req.url} host=${req.headers.host}${n > 0 ? ` body=${n}` : ''}`));
  });
  const [p1, p2] = [await freePort(), await freePort()];
  const e = engine(t);
  await e.apply(table([{ cluster: svc('to-h2', [h2Port], { scheme: 'h2c' }), listenPort: p1 }, { cluster: svc('to-h1', [h1.port]), listenPort: p2 }]));

  const r = await get(client(t), `http://${LOOPBACK}:${p1}/a?b=c`, { method: 'GET', headers: { host: 'to-h2.test.hostmesh' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-proto'], 'h2');
  assert.equal(r.body, 'h2 saw GET /a?b=c authority=to-h2.test.hostmesh');

  const c = h2Client(t, p2);
  const req = c.request({ ':method': 'GET', ':path': '/x', ':authority': 'to-h1.test.hostmesh' });
  const body = await new Promise<string>((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { s += d; });
    req.on('end', () => resolve(s));
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'h1 saw GET /x host=to-h1.test.hostmesh');

  const post = c.request({ ':method': 'POST', ':path': '/up', ':authority': 'to-h1.test.hostmesh' });
  const posted = await new Promise<string>((resolve, reject) => {
    let s = '';
    post.setEncoding('utf8');
    post.on('data', (d: string) => { s += d; });
    post.on('end', () => resolve(s));
    post.on('error', reject);
    post.write(Buffer.alloc(100_000, 1));
    post.end(Buffer.alloc(23_456, 2));
  });
  assert.equal(posted, 'h1 saw POST /up host=to-h1.test.hostmesh body=123456');
});

test('https backend: TLS to the endpoint without verifying its (self-signed) certificate', async (t) => {
  const server = createHttpsServer({ key: readFileSync(new URL('test-backend.key', fixtures)), cert: readFileSync(new URL('test-backend.crt', fixtures)) }, (req, res) => {
    res.end(`tls=${(req.socket as { encrypted?: boolean }).encrypted === true} ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => closeServer(server));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('secure', [(server.address() as { port: number }).port], { scheme: 'https' }), listenPort: port }]));
  const c = client(t);
  for (let i = 0; i < 3; i++) {
    const r = await get(c, `http://${LOOPBACK}:${port}/s${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.body, `tls=true GET /s${i}`);
  }
});
