/**
 * h2c (HTTP/2 with prior knowledge) against the proxy: connections a client closes are released
 * at once, a client that never completes a request head is cut, and rapid reset (streams opened
 * and cancelled at once) neither reaches the backend nor survives its reset budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, constants } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { until } from '../support/until.ts';
import { DEFAULT_LIMITS } from '../../src/proxy/limits.ts';
import { metricValue } from '../proxy/helpers.ts';
import { proxyTo, rawBackend } from './support.ts';
import { FLAG, FRAME, rawH2, statusOf } from './h2-frames.ts';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    // Read (and drop) what the proxy sends, so its close is seen.
    s.resume();
    s.once('connect', () => resolve(s));
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
}

async function clientConnections(e: Parameters<typeof metricValue>[0]): Promise<number> {
  return (await metricValue(e, /^hostmesh_overload_client_connections /)) ?? -1;
}

// Long keep-alive and head timeouts: only a prompt close can release these connections.
const PATIENT = { clientKeepAliveTimeoutMs: 600_000, headersTimeoutMs: 600_000 };

test('h2c connections the client closes (FIN after the preface, or mid-preface) are released at once, not left in CLOSE-WAIT', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { limits: PATIENT });
  const sockets: Socket[] = [];
  for (let i = 0; i < 40; i++) {
    const s = await open(p.port);
    s.end(i % 2 === 0 ? PREFACE : PREFACE.slice(0, 10));
    sockets.push(s);
  }
  let closedCount = 0;
  for (const s of sockets) void closed(s).then(() => closedCount++);
  await until('the proxy to close every connection the client closed', () => closedCount === sockets.length, 10_000);
  await until('the proxy to release every connection', async () => (await clientConnections(p.engine)) === 0, 10_000);
});

test('an h2c client that sends the preface but no request head within the head timeout is cut', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { limits: { clientKeepAliveTimeoutMs: 600_000, headersTimeoutMs: 300 } });
  const s = await open(p.port);
  // The preface and an empty SETTINGS frame, then silence (PINGs would keep an idle timer alive).
  s.write(PREFACE);
  s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  const ping = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  let pings = 0;
  while (!s.destroyed && pings < 400) {
    s.write(ping);
    pings++;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.equal(s.destroyed, true, `still open after ${pings} PINGs`);
  assert.equal(b.requests.length, 0);
});

test('a client trickling the connection preface byte by byte is cut by the head timeout, which does not restart per byte', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { limits: { clientKeepAliveTimeoutMs: 600_000, headersTimeoutMs: 300 } });
  const s = await open(p.port);
  let sent = 0;
  // 24 bytes at one per 100 ms would take 2.4 s; the head timeout is 0.3 s.
  while (!s.destroyed && sent < PREFACE.length) {
    s.write(PREFACE[sent]!);
    sent++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await until('the proxy to close the trickling connection', () => s.destroyed, 10_000);
  assert.ok(sent < PREFACE.length, 'cut before the preface was complete');
});

/** An h2c session from `from` (a loopback address of its own: another client). */
function session(port: number, from = '127.0.0.1'): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const c = h2connect(`http://127.0.0.1:${port}`, { createConnection: () => netConnect({ host: '127.0.0.1', port, localAddress: from }) });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Opens and cancels up to 2,000 streams until the proxy ends the session: its GOAWAY code and last stream. */
async function rapidReset(attacker: ClientHttp2Session): Promise<{ goaway: number | undefined; lastStream: number; opened: number }> {
  attacker.on('error', () => {});
  const out = { goaway: undefined as number | undefined, lastStream: -1, opened: 0 };
  attacker.on('goaway', (code: number, last: number) => { out.goaway = code; out.lastStream = last; });
  for (let i = 0; i < 2000 && !attacker.destroyed && !attacker.closed; i++) {
    const s = attacker.request({ ':path': `/r${i}` });
    s.on('error', () => {});
    s.close(constants.NGHTTP2_CANCEL);
    out.opened++;
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await until('the attacker\'s session to end', () => attacker.destroyed || attacker.closed || out.goaway !== undefined, 10_000);
  return out;
}

async function status200(c: ClientHttp2Session): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = c.request({ ':path': '/ok' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.resume();
  });
}

test('rapid reset: cancelled streams never reach the backend, and abuse ends in GOAWAY while other clients are served', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const attacker = await session(p.port);
  const { goaway, lastStream, opened } = await rapidReset(attacker);
  assert.equal(goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'the proxy says why it ends the session');
  // Counted per RST_STREAM frame before the session reads on: the session never opened a
  // stream beyond the one whose reset went over the budget (200), however many were sent.
  assert.ok(lastStream > 0 && lastStream <= 2 * (DEFAULT_LIMITS.h2ResetBudget + 1) - 1, `the session processed streams up to ${lastStream}`);
  assert.ok(b.requests.length <= opened / 20, `cancelled streams reached the backend: ${b.requests.length} of ${opened}`);
  attacker.destroy();
  // Another client (another address: the attacker's is penalized, see below) is served normally.
  const c = await session(p.port, '127.0.0.2');
  t.after(() => c.close());
  assert.equal(await status200(c), 200);
});

test('rapid reset: the abuser\'s address gets no new h2c session for a while (GOAWAY ENHANCE_YOUR_CALM, nothing reaches the backend); other addresses, and HTTP/1 from it, are served', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const first = await rapidReset(await session(p.port, '127.0.0.3'));
  assert.equal(first.goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const before = b.requests.length;
  for (let i = 0; i < 3; i++) {
    const again = await session(p.port, '127.0.0.3');
    let code: number | undefined;
    again.on('goaway', (c: number) => { code = c; });
    again.on('error', () => {});
    const s = again.request({ ':path': '/after' });
    s.on('error', () => {});
    await until('the refused session to end', () => again.destroyed || again.closed || code !== undefined, 10_000);
    assert.equal(code, constants.NGHTTP2_ENHANCE_YOUR_CALM, `connection ${i} from the abuser's address is refused and told why`);
    again.destroy();
  }
  assert.equal(b.requests.length, before, 'no request of a refused session reaches the backend');
  assert.equal(await metricValue(p.engine, /^hostmesh_overload_h2c_refused_connections_total /), 3);
  const other = await session(p.port, '127.0.0.4');
  t.after(() => other.close());
  assert.equal(await status200(other), 200);
  const h1 = await new Promise<string>((resolve) => {
    let got = '';
    const s = netConnect({ host: '127.0.0.1', port: p.port, localAddress: '127.0.0.3' });
    s.setEncoding('latin1');
    s.on('data', (d: string) => { got += d; });
    s.on('close', () => resolve(got));
    s.on('error', () => {});
    s.write('GET /h1 HTTP/1.1\r\nHost: svc.test\r\nConnection: close\r\n\r\n');
  });
  assert.match(h1, /^HTTP\/1\.1 200 /);
});

test('h2c: DATA beyond a stream\'s content-length resets that stream only (PROTOCOL_ERROR); its siblings on the session complete and the backend never sees the excess', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const c = await rawH2(p.port);
  t.after(() => c.socket.destroy());
  const head = (path: string, length?: number): [string, string][] => [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', path], ...(length === undefined ? [] : [['content-length', String(length)] as [string, string]])];
  // Stream 1 without a content-length, 3 with one, 5 with one it keeps; 3 goes beyond its
  // length in one frame, then again in a second.
  c.headers(1, head('/sibling-a'), false);
  c.headers(3, head('/bad', 3), false);
  c.headers(5, head('/sibling-b', 4), false);
  c.data(3, 'too long', false);
  c.data(3, 'still more', true);
  c.data(1, 'hello', true);
  c.data(5, 'okay', true);
  await until('both siblings to be answered', () => c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0).length >= 2 || c.socket.destroyed, 10_000);
  const rst = c.frames.filter((f) => f.type === FRAME.RST_STREAM);
  assert.deepEqual(rst.map((f) => [f.stream, f.payload.readUInt32BE(0)]), [[3, constants.NGHTTP2_PROTOCOL_ERROR]], 'only the bad stream is reset, with PROTOCOL_ERROR');
  assert.equal(c.frames.filter((f) => f.type === FRAME.GOAWAY).length, 0, 'the session goes on');
  const statusOfStream = (id: number): number | undefined => statusOf(c.frames.find((f) => f.type === FRAME.HEADERS && f.stream === id)!);
  assert.equal(statusOfStream(1), 200);
  assert.equal(statusOfStream(5), 200);
  assert.equal(c.frames.some((f) => f.type === FRAME.HEADERS && f.stream === 3), false, 'no answer on the reset stream');
  // The backend framed the two siblings with their whole bodies, and nothing of the bad one.
  await until('the backend to see both siblings', () => b.requests.length >= 2, 5000);
  const got = b.requests.map((r) => `${r.line.split(' ')[1]}=${r.body.toString()}`).toSorted();
  assert.deepEqual(got, ['/sibling-a=hello', '/sibling-b=okay']);
  assert.equal(b.conns.every((conn) => !conn.bytes.includes('too long') && !conn.bytes.includes('still more')), true, 'the excess never reaches the backend');
  // The session still serves new streams.
  c.headers(7, [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc'], [':path', '/after']], true);
  await until('the stream after the reset to be answered', () => c.frames.some((f) => f.type === FRAME.HEADERS && f.stream === 7), 5000);
  assert.equal(statusOfStream(7), 200);
});

test('h2c: a stream that sends exactly its content-length and then more DATA never reaches the backend as a complete request; a stream that ends after exactly its length does, and siblings go on', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const c = await rawH2(p.port);
  t.after(() => c.socket.destroy());
  const post = (path: string, length: number): [string, string][] => [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', path], ['content-length', String(length)]];
  const seen = (text: string): boolean => b.conns.some((conn) => conn.bytes.includes(text));
  // Stream 1: exactly its 5 bytes, no END_STREAM yet. The backend gets its head and body as
  // far as the proxy lets it; only then does the stream go beyond its length.
  c.headers(1, post('/overflow', 5), false);
  c.data(1, 'hello', false);
  await until('the backend to see the start of the overflowing stream\'s body', () => seen('hell'), 10_000);
  // Stream 3 sends its whole length and ends with an empty DATA frame; stream 5 ends with its
  // last DATA frame. Both are complete requests at the backend.
  c.headers(3, post('/exact', 4), false);
  c.data(3, 'okay', false);
  c.data(3, '', true);
  c.headers(5, post('/sibling', 3), false);
  c.data(5, 'abc', true);
  c.data(1, '!', false);
  await until('stream 1 to be reset and both siblings answered', () => c.frames.some((f) => f.type === FRAME.RST_STREAM && f.stream === 1) && c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0).length >= 2, 10_000);
  const rst = c.frames.filter((f) => f.type === FRAME.RST_STREAM);
  assert.deepEqual(rst.map((f) => [f.stream, f.payload.readUInt32BE(0)]), [[1, constants.NGHTTP2_PROTOCOL_ERROR]], 'only the overflowing stream is reset');
  assert.equal(c.frames.filter((f) => f.type === FRAME.GOAWAY).length, 0, 'the session goes on');
  await until('the backend to frame both siblings', () => b.requests.length >= 2, 5000);
  const got = b.requests.map((r) => `${r.line.split(' ')[1]}=${r.body.toString()}`).toSorted();
  assert.deepEqual(got, ['/exact=okay', '/sibling=abc'], 'the overflowing stream is never a complete request at the backend');
  assert.equal(seen('hello'), false, 'the last declared byte of the overflowing stream never left the proxy');
  assert.equal(seen('!'), false, 'nor the excess');
});

test('connection churn: a client that sends the h2c preface magic and closes costs no HTTP/2 session (no SETTINGS comes back) and is released', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { limits: PATIENT });
  const received: number[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < 20; i++) {
    const s = await open(p.port);
    received.push(0);
    s.on('data', (d: Buffer) => { received[i]! += d.length; });
    s.end(PREFACE);
    sockets.push(s);
  }
  await Promise.all(sockets.map(closed));
  assert.deepEqual(received, sockets.map(() => 0), 'no session answered with its SETTINGS');
  await until('the proxy to release every connection', async () => (await clientConnections(p.engine)) === 0, 10_000);
  // A client that sends its SETTINGS frame after the magic gets a session as before.
  const c = await rawH2(p.port);
  t.after(() => c.socket.destroy());
  await until('the server SETTINGS', () => c.frames.some((f) => f.type === FRAME.SETTINGS), 5000);
});
