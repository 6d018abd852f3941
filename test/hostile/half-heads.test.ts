/**
 * Connection churn with half a request head (issue 16): a client that sends part of a head and
 * closes, or goes silent, is answered by the fast path itself (src/proxy/http/h1-fast.ts) as
 * node:http answers it (400 at the FIN, 408 at the head timeout), without the connection being
 * handed to node:http; a head that arrives in a few reads is still served by the fast path, and
 * one trickled in many reads goes to node:http's incremental parser.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { EOF_IN_HEAD, FastConnection, HEAD_TIMEOUT, MAX_HEAD_READS } from '../../src/proxy/http/h1-fast.ts';
import type { FastHost, FastRequest, FastResponse } from '../../src/proxy/http/h1-fast.ts';
import { closeServer, connectSocket } from '../proxy/helpers.ts';
import { exchangeRaw, proxyTo, rawBackend } from './support.ts';

const HALF = 'GET /half HTTP/1.1\r\nHost: svc.test\r\n';

interface Seen {
  served: string[];
  fallbacks: (string | undefined)[];
  /** The fast path's side of the connection, once accepted. */
  server: Socket | undefined;
  conns: FastConnection[];
}

/** A FastConnection on a real loopback connection, with a host that records what it is asked to do. */
async function fastServer(t: TestContext, headersTimeoutMs = 60_000): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { served: [], fallbacks: [], server: undefined, conns: [] };
  const host: FastHost = {
    serve: (req: FastRequest, res: FastResponse) => {
      seen.served.push(req.url);
      res.end('ok');
    },
    fallback: (socket: Socket, pending: Buffer | undefined) => {
      seen.fallbacks.push(pending?.toString('latin1'));
      socket.destroy();
    },
    draining: () => false,
    keepAliveTimeoutMs: 60_000,
    maxHeaderSize: 16384,
    headersTimeoutMs,
    released: () => {},
  };
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    seen.server = socket;
    socket.on('error', () => {});
    seen.conns.push(new FastConnection(socket, host));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    seen.server?.destroy();
    return closeServer(server);
  });
  return { port: (server.address() as { port: number }).port, seen };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(cond(), what);
}

/** Writes each part once the server has read everything before it (so each is a read of its own). */
async function sendInReads(s: Socket, seen: Seen, parts: string[]): Promise<void> {
  let sent = 0;
  for (const part of parts) {
    s.write(part, 'latin1');
    sent += Buffer.byteLength(part, 'latin1');
    await until(`the server to read ${sent} bytes`, () => (seen.server?.bytesRead ?? 0) >= sent);
  }
}

function collect(s: Socket): { text: () => string; closed: Promise<void> } {
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => { got += d; });
  s.on('error', () => {});
  return { text: () => got, closed: new Promise((resolve) => s.once('close', () => resolve())) };
}

test('a head that arrives in a few reads is served by the fast path, not handed to node:http', async (t) => {
  const { port, seen } = await fastServer(t);
  const s = connectSocket(port);
  const out = collect(s);
  await new Promise((resolve) => s.once('connect', resolve));
  await sendInReads(s, seen, ['GET /split HT', 'TP/1.1\r\nHost: svc.test\r\n', 'Connection: close\r\n\r\n']);
  await out.closed;
  assert.deepEqual(seen.served, ['/split']);
  assert.deepEqual(seen.fallbacks, []);
  assert.match(out.text(), /^HTTP\/1\.1 200 OK\r\n/);
});

test('half a head and the client\'s FIN: answered 400 on the fast path, as node:http answers it', async (t) => {
  const { port, seen } = await fastServer(t);
  const s = connectSocket(port);
  const out = collect(s);
  await new Promise((resolve) => s.once('connect', resolve));
  await sendInReads(s, seen, [HALF]);
  s.end();
  await out.closed;
  assert.equal(out.text(), EOF_IN_HEAD);
  assert.deepEqual(seen.served, []);
  assert.deepEqual(seen.fallbacks, []);
});

test('half a head and silence: 408 at the head timeout, on the fast path', async (t) => {
  const { port, seen } = await fastServer(t, 100);
  const s = connectSocket(port);
  const out = collect(s);
  await new Promise((resolve) => s.once('connect', resolve));
  await sendInReads(s, seen, [HALF]);
  await out.closed;
  assert.equal(out.text(), HEAD_TIMEOUT);
  assert.deepEqual(seen.fallbacks, []);
});

test(`a head still partial after ${MAX_HEAD_READS} reads goes to node:http with every byte read`, async (t) => {
  const { port, seen } = await fastServer(t);
  const s = connectSocket(port);
  const out = collect(s);
  await new Promise((resolve) => s.once('connect', resolve));
  const parts = Array.from({ length: MAX_HEAD_READS }, (_, i) => i === 0 ? HALF : `X-Slow-${i}: 1\r\n`);
  await sendInReads(s, seen, parts);
  await out.closed;
  assert.deepEqual(seen.fallbacks, [parts.join('')]);
  assert.deepEqual(seen.served, []);
});

test('half a head and FIN, or half a head and silence: the proxy answers as node:http does, and nothing reaches the backend', async (t) => {
  const b = await rawBackend(t);
  const answers: Record<string, string[]> = {};
  for (const fastHttp1 of [true, false]) {
    const p = await proxyTo(t, b.port, { limits: { fastHttp1, headersTimeoutMs: 200, connectionsCheckingIntervalMs: 50 } });
    const key = fastHttp1 ? 'fast' : 'node';
    answers[key] = [];
    // Half a head, then FIN (the connection-churn attacker of bench/hostile.ts).
    answers[key].push(await new Promise<string>((resolve) => {
      const s = connectSocket(p.port);
      const out = collect(s);
      s.once('connect', () => s.end(HALF));
      void out.closed.then(() => resolve(out.text()));
    }));
    // Half a head, then nothing until the head timeout.
    answers[key].push((await exchangeRaw(p.port, HALF, 5000)).toString('latin1'));
  }
  assert.deepEqual(answers.fast, [EOF_IN_HEAD, HEAD_TIMEOUT]);
  assert.deepEqual(answers.node, answers.fast);
  assert.equal(b.requests.length, 0);
  assert.equal(b.bytes(), 0);
});
