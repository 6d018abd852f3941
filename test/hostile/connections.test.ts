/**
 * One client connection against the proxy: pipelining, declined upgrades, absolute-form.
 * Each test counts what reached the raw backend; loops are bounded in requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeRaw, header, okAnswer, proxyTo, rawBackend, statuses } from './support.ts';
import { connectSocket } from '../proxy/helpers.ts';

const H = 'Host: raw.test.hostmesh\r\n';

test('1,000 pipelined GETs on one connection use one backend connection, answered in order', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const n = 1000;
  let bytes = '';
  for (let i = 0; i < n; i++) bytes += `GET /p${i} HTTP/1.1\r\n${H}${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
  const got = await exchangeRaw(p.port, bytes, 5000);
  assert.equal(statuses(got).length, n);
  assert.equal(b.requests.length, n);
  assert.deepEqual(b.requests.map((r) => r.line), Array.from({ length: n }, (_, i) => `GET /p${i} HTTP/1.1`), 'requests reach the backend in the order sent');
  // One at a time: the next request may be sent a moment before the previous backend connection
  // is idle again, so two connections at most (1,010 before).
  assert.ok(b.conns.length <= 2, `served one at a time, they share a backend connection or two (${b.conns.length})`);
  const bodies = got.toString('latin1').match(/seen \d+/g)!;
  assert.deepEqual(bodies, Array.from({ length: n }, (_, i) => `seen ${i + 1}`), 'answers come back in order');
});

test('a client that pipelines and never reads stops being served until it reads: answers do not queue without bound', async (t) => {
  const body = 'x'.repeat(8192);
  const b = await rawBackend(t, () => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  const p = await proxyTo(t, b.port);
  // The response waits for the socket to drain before the next request is taken. 4,000 answers
  // of 8 KiB are 32 MiB; what the kernel's socket buffers absorb for a client
  // that never reads (its receive buffer does not grow while unread) is a few MiB.
  const n = 4000;
  let bytes = '';
  for (let i = 0; i < n; i++) bytes += `GET /p${i} HTTP/1.1\r\n${H}${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
  const s = connectSocket(p.port);
  t.after(() => s.destroy());
  s.on('error', () => {});
  s.pause();
  await new Promise((resolve) => s.once('connect', resolve));
  s.write(bytes);
  // Wait until the backend count stops moving (bounded: 15 s).
  let last = -1;
  let steady = 0;
  for (let i = 0; i < 75 && steady < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    steady = b.requests.length === last ? steady + 1 : 0;
    last = b.requests.length;
  }
  assert.ok(b.requests.length > 0 && b.requests.length < n / 2, `while the client reads nothing, only what the buffers hold is served (${b.requests.length} of ${n})`);
  // Once it reads, every answer comes.
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  await new Promise((resolve) => {
    s.on('close', resolve);
    s.resume();
  });
  assert.equal(statuses(Buffer.concat(got)).length, n);
  assert.equal(b.requests.length, n);
});

test('a declined Upgrade does not become a tunnel: the bytes after it never reach the backend unparsed', async (t) => {
  // The backend refuses the upgrade with an ordinary 200 and keeps the connection open.
  const b = await rawBackend(t, (_req, conn) => okAnswer(conn.requests.length));
  const p = await proxyTo(t, b.port);
  const smuggled = 'GET /admin HTTP/1.1\r\nHost: internal.example\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';
  const got = await exchangeRaw(p.port, [
    `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n${smuggled}`,
    smuggled,
  ]);
  assert.deepEqual(statuses(got), [200], 'the client gets the backend\'s answer to its upgrade request');
  assert.deepEqual(b.requests.map((r) => r.line), ['GET /ws HTTP/1.1']);
  assert.equal(b.bytes(), b.conns[0]!.bytes.length);
  assert.equal(b.conns[0]!.bytes.toString('latin1').includes('/admin'), false, 'no smuggled request reached the backend');
  assert.equal(header(b.requests[0]!, 'host'), 'raw.test.hostmesh');
});

test('a declined Upgrade with a chunked answer is relayed whole, then the connection closes', async (t) => {
  const b = await rawBackend(t, () => 'HTTP/1.1 426 Upgrade Required\r\ntransfer-encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n');
  const p = await proxyTo(t, b.port);
  const got = await exchangeRaw(p.port, `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /second HTTP/1.1\r\n${H}\r\n`);
  const text = got.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 426 /);
  assert.ok(text.endsWith('5\r\nnope!\r\n0\r\n\r\n'), JSON.stringify(text));
  assert.equal(b.requests.length, 1);
});

test('an accepted Upgrade (101) still tunnels both ways', async (t) => {
  const b = await rawBackend(t, () => 'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
  const p = await proxyTo(t, b.port);
  const got = await exchangeRaw(p.port, [`GET /e HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: echo\r\n\r\nearly`, 'late'], 300);
  assert.match(got.toString('latin1'), /^HTTP\/1\.1 101 /);
  const received = b.conns[0]!.bytes.toString('latin1');
  assert.equal(received.slice(received.indexOf('\r\n\r\n') + 4), 'earlylate', 'after the 101 the client\'s bytes are tunnel data, early ones included');
});
