/**
 * Flaky and hostile peers around one request: a backend whose chunked body breaks right after a
 * valid head, a backend that drops idle kept-alive connections without a hint, a silent backend,
 * a client that stops sending its body, and the overload manager's connection budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connectTls } from './tls-client.ts';
import { until } from '../support/until.ts';
import { client, get, metricValue } from '../proxy/helpers.ts';
import { exchangeRaw, okAnswer, proxyTo, rawBackend, responses, statuses } from './support.ts';

const H = 'Host: raw.test.hostmesh\r\n';

/** Sends 10 of 100 declared body bytes, then nothing: what the proxy answers (its head at least). */
async function stalledUpload(port: number): Promise<{ s: Socket; got: string }> {
  const s = netConnect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => { got += d; });
  s.write(`POST /upload HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nonly ten b`);
  await until('the proxy to answer the stalled upload', () => got.includes('\r\n\r\n') || s.destroyed, 10_000);
  return { s, get got() { return got; } };
}

test('an invalid chunk right after a valid backend head gives the client a 502, not an empty reply', async (t) => {
  const b = await rawBackend(t, () => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n');
  const p = await proxyTo(t, b.port);
  const got = await exchangeRaw(p.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  assert.deepEqual(statuses(got), [502], JSON.stringify(got.toString('latin1').slice(0, 200)));
});

test('a backend that closes idle connections without a hint: reused-connection races are retried once on a new connection', async (t) => {
  // Every connection serves one response, then the backend closes it as soon as the next
  // request arrives (the race: the proxy already sent it on the kept-alive connection).
  const b = await rawBackend(t, (req, conn) => {
    if (conn.requests.length > 1) {
      conn.socket.destroy();
      return undefined;
    }
    return okAnswer(conn.requests.length, 'keep-alive: timeout=600\r\n', req.line.split(' ')[0]);
  });
  const p = await proxyTo(t, b.port);
  const c = client(t);
  const codes: number[] = [];
  for (let i = 0; i < 40; i++) codes.push((await get(c, `http://127.0.0.1:${p.port}/r${i}`)).status);
  assert.deepEqual(codes.filter((s) => s !== 200), [], 'every GET answered 200');
  // A POST with a body in memory is not idempotent: it is not sent twice.
  const post = await get(c, `http://127.0.0.1:${p.port}/post`, { method: 'POST', body: 'x' });
  assert.ok(post.status === 200 || post.status === 502);
});

test('a silent backend is cut by the default read timeout overridden per Service, and 0 turns it off', async (t) => {
  const b = await rawBackend(t, () => undefined);
  const p = await proxyTo(t, b.port, { cluster: { readTimeoutMs: 200 } });
  const got = await exchangeRaw(p.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, 5000);
  assert.deepEqual(statuses(got), [504]);
});

test('a client that stops sending its request body is cut by the body timeout (408), freeing the backend connection', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { cluster: { bodyTimeoutMs: 200 } });
  const { s, got } = await stalledUpload(p.port);
  assert.match(got, /^HTTP\/1\.1 408 /);
  await until('the backend connection carrying the partial body to close', () => b.open() === 0, 10_000);
  assert.equal(b.requests.length, 0, 'the backend never got a complete request');
  s.destroy();
});

test('overload: connections beyond the budget get a 503 with a clear signal, others are still served, metrics count them', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { limits: { maxClientConnections: 5 } });
  const held: Socket[] = [];
  for (let i = 0; i < 5; i++) {
    const s = netConnect({ host: '127.0.0.1', port: p.port });
    s.on('error', () => {});
    await new Promise((resolve) => s.once('connect', resolve));
    held.push(s);
  }
  await until('five admitted connections', async () => (await metricValue(p.engine, /^hostmesh_overload_client_connections /)) === 5);
  const shed = responses(await exchangeRaw(p.port, `GET / HTTP/1.1\r\n${H}\r\n`));
  assert.equal(shed[0]?.status, 503);
  assert.equal(await metricValue(p.engine, /^hostmesh_overload_shed_connections_total /), 1);
  assert.equal(b.requests.length, 0);
  for (const s of held) s.destroy();
  await until('held connections released', async () => (await metricValue(p.engine, /^hostmesh_overload_client_connections /)) === 0);
  assert.deepEqual(statuses(await exchangeRaw(p.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)), [200]);
});

test('a TLS ClientHello on an HTTP port is passed through as TCP to the backend', async (t) => {
  const { port: tlsPort, close } = await connectTls.server();
  t.after(close);
  const p = await proxyTo(t, tlsPort);
  const answer = await connectTls.get(p.port);
  assert.equal(answer, 'tls ok');
});

test('a backend\'s Keep-Alive: timeout=N is honoured: the proxy closes its idle connection before the backend would, far below its own idle limit', async (t) => {
  // The backend announces 3 s and never closes an idle connection itself; the proxy's own
  // idle limit is 10 minutes. Only the hint can make the proxy close the connection.
  const b = await rawBackend(t, (req, conn) => okAnswer(conn.requests.length, 'keep-alive: timeout=3\r\n', req.line.split(' ')[0]));
  const p = await proxyTo(t, b.port, { limits: { upstreamKeepAliveTimeoutMs: 600_000 } });
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${p.port}/one`)).status, 200);
  assert.equal(b.conns.length, 1);
  const first = b.conns[0]!.socket;
  let proxyClosed = false;
  first.once('end', () => { proxyClosed = true; });
  await until('the proxy to close the idle backend connection (FIN from the proxy)', () => proxyClosed, 15_000);
  // The next request goes out on a new connection, and is answered.
  assert.equal((await get(c, `http://127.0.0.1:${p.port}/two`)).status, 200);
  assert.equal(b.conns.length, 2);
});

test('a pooled backend connection idles out at the proxy\'s own limit; a longer Keep-Alive hint does not extend it', async (t) => {
  const b = await rawBackend(t, (req, conn) => okAnswer(conn.requests.length, 'keep-alive: timeout=600\r\n', req.line.split(' ')[0]));
  const p = await proxyTo(t, b.port, { limits: { upstreamKeepAliveTimeoutMs: 300 } });
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${p.port}/one`)).status, 200);
  let proxyClosed = false;
  b.conns[0]!.socket.once('end', () => { proxyClosed = true; });
  await until('the proxy to close the idle backend connection at its own limit', () => proxyClosed, 15_000);
});

test('a body held for retries (the replay buffer) is read under the body timeout: a stalled upload gets 408 and never reaches the backend', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port, { cluster: { bodyTimeoutMs: 200 }, route: { retry: { count: 2, on: 'true', codes: [] } } });
  // Within the replay limit and of declared length: held whole before the first attempt.
  const { s, got } = await stalledUpload(p.port);
  assert.match(got, /^HTTP\/1\.1 408 /);
  assert.match(got, /\r\nconnection: close\r\n/i, 'the rest of the body is not waited for');
  assert.equal(b.conns.length, 0, 'no backend connection was opened for it');
  s.destroy();
});
