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
import { metricValue } from '../proxy/helpers.ts';
import { proxyTo, rawBackend } from './support.ts';

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

function session(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const c = h2connect(`http://127.0.0.1:${port}`);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

test('rapid reset: cancelled streams never reach the backend, and abuse ends in GOAWAY while other clients are served', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const attacker = await session(p.port);
  attacker.on('error', () => {});
  let goaway: number | undefined;
  attacker.on('goaway', (code: number) => { goaway = code; });
  const n = 2000;
  let opened = 0;
  for (let i = 0; i < n && !attacker.destroyed && !attacker.closed; i++) {
    const s = attacker.request({ ':path': `/r${i}` });
    s.on('error', () => {});
    s.close(constants.NGHTTP2_CANCEL);
    opened++;
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await until('the attacker\'s session to end', () => attacker.destroyed || attacker.closed || goaway !== undefined, 10_000);
  assert.equal(goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'the proxy says why it ends the session');
  assert.ok(b.requests.length <= opened / 20, `cancelled streams reached the backend: ${b.requests.length} of ${opened}`);
  attacker.destroy();
  // Another client is served normally.
  const c = await session(p.port);
  t.after(() => c.close());
  const status = await new Promise<number>((resolve) => {
    const s = c.request({ ':path': '/ok' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.resume();
  });
  assert.equal(status, 200);
});
