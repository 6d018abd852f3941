import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { createTcpListener } from '../../src/proxy/l4/tcp.ts';
import type { TcpListener } from '../../src/proxy/l4/tcp.ts';
import { MAX_DIAL_ATTEMPTS } from '../../src/proxy/l4/tcp-dial.ts';
import type { L4Route } from '../../src/proxy/types.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import { RecordingObserver, RoundRobinPicker, endpoint, fixedRoute, l4Cluster } from '../support/l4-picker.ts';
import type { L4Event } from '../support/l4-picker.ts';
import {
  closed, closedPort, echo, eventually, log, readAll, readBytes, taggedEcho, tcpBackend, tcpClient, tcpClientRaw, unresponsivePort,
} from './l4-fixtures.ts';
import type { TestContext } from 'node:test';

const ROUTE = 'test/db:5432';
const CLUSTER = 'test/db-v1:5432';

async function startProxy(t: TestContext, route: L4Route, observer = new RecordingObserver()): Promise<{ listener: TcpListener; observer: RecordingObserver }> {
  const listener = createTcpListener({ host: '127.0.0.1', port: 0, route, observer, log });
  await listener.listen();
  t.after(() => listener.close(0));
  return { listener, observer };
}

function routeTo(ports: number[], extra: Parameters<typeof l4Cluster>[2] = {}): { route: L4Route; picker: RoundRobinPicker } {
  const picker = new RoundRobinPicker(ports.map((p) => endpoint('127.0.0.1', p)));
  return { route: fixedRoute(ROUTE, l4Cluster(CLUSTER, picker, extra)), picker };
}

/** Upper-cases everything it received, after the client's FIN, then ends. */
function upperAfterEnd(s: Socket): void {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('end', () => s.end(Buffer.concat(chunks).toString('latin1').toUpperCase()));
}

const isClosed = (e: L4Event): boolean => e.kind === 'closed';

test('TCP echo through the listener, with the connection reported and the endpoint released', async (t) => {
  const backend = await tcpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('hello');
  assert.equal((await readBytes(c, 5)).toString(), 'hello');
  assert.equal(listener.connections, 1);
  const rest = readAll(c);
  c.end();
  assert.equal((await rest).length, 0);
  const ev = await observer.waitFor(isClosed);
  assert.deepEqual(ev, { kind: 'closed', route: ROUTE, cluster: CLUSTER, bytesIn: 5, bytesOut: 5 });
  assert.deepEqual(observer.of('opened'), [{ kind: 'opened', route: ROUTE, cluster: CLUSTER }]);
  assert.equal(picker.outstanding, 0);
  assert.equal(picker.successes.get(`127.0.0.1:${backend.port}`), 1);
  await eventually(() => listener.connections === 0, 'connection count back to 0');
});

test('half-close: the client FIN reaches the backend and its later reply still reaches the client', async (t) => {
  const backend = await tcpBackend(t, upperAfterEnd);
  const { route } = routeTo([backend.port]);
  const { listener } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  const reply = readAll(c);
  c.end('hello mesh');
  assert.equal((await reply).toString(), 'HELLO MESH');
  await closed(c);
});

test('20 MB both ways at once arrive intact', async (t) => {
  const backend = await tcpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  const block = randomBytes(1 << 20);
  const total = 20;
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let received = 0;
  c.on('data', (chunk: Buffer) => {
    received += chunk.length;
    got.update(chunk);
  });
  const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
  for (let i = 0; i < total; i++) {
    // Each megabyte differs (its first byte is the index), so reordering would show.
    const chunk = Buffer.from(block);
    chunk[0] = i;
    sent.update(chunk);
    if (!c.write(chunk)) await once(c, 'drain');
  }
  c.end();
  await ended;
  assert.equal(received, total << 20);
  assert.equal(got.digest('hex'), sent.digest('hex'));
  const ev = await observer.waitFor(isClosed);
  assert.equal(ev.kind === 'closed' && ev.bytesIn, total << 20);
  assert.equal(ev.kind === 'closed' && ev.bytesOut, total << 20);
  assert.equal(picker.outstanding, 0);
});

test('a backend that stops reading stalls the client instead of filling the proxy', async (t) => {
  let backendSocket: Socket | undefined;
  let backendReceived = 0;
  const backend = await tcpBackend(t, (s) => {
    backendSocket = s;
    s.on('data', (c: Buffer) => { backendReceived += c.length; });
    s.pause();
  });
  const { route } = routeTo([backend.port]);
  const { listener } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  await eventually(() => backendSocket !== undefined, 'backend connection');
  const chunk = Buffer.alloc(1 << 20, 7);
  const limit = 256 << 20;
  let sent = 0;
  // Write until the writes stop draining (the whole path is full) or the limit is reached;
  // without backpressure the proxy would take all 256 MB into memory.
  while (sent < limit) {
    sent += chunk.length;
    if (c.write(chunk)) continue;
    const drained = await Promise.race([once(c, 'drain').then(() => true), delay(500, false)]);
    if (!drained) break;
  }
  assert.ok(sent < 64 << 20, `client pushed ${sent >> 20} MB into a path whose backend reads nothing`);
  backendSocket!.resume();
  c.end();
  await eventually(() => backendReceived === sent, `backend to receive all ${sent} bytes (has ${backendReceived})`, 30_000);
});

test('a refused dial is retried on the next endpoint, and bytes sent while dialing are not lost', async (t) => {
  const dead = await closedPort();
  const backend = await tcpBackend(t, upperAfterEnd);
  const { route, picker } = routeTo([dead, backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  const reply = readAll(c);
  // Sent and half-closed at once, while the proxy is still dialing.
  c.end('early bytes');
  assert.equal((await reply).toString(), 'EARLY BYTES');
  assert.deepEqual(picker.picked, [`127.0.0.1:${dead}`, `127.0.0.1:${backend.port}`]);
  assert.equal(picker.failures.get(`127.0.0.1:${dead}`), 1);
  assert.deepEqual(observer.of('error'), [{ kind: 'error', route: ROUTE, cluster: CLUSTER, reason: 'refused' }]);
  await observer.waitFor(isClosed);
  assert.equal(picker.outstanding, 0);
});

test('a dial that times out is reported as a timeout and the next endpoint is used', async (t) => {
  const hung = await unresponsivePort(t);
  const backend = await tcpBackend(t, echo);
  const { route, picker } = routeTo([hung, backend.port], { dialTimeoutMs: 150 });
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('ping');
  assert.equal((await readBytes(c, 4)).toString(), 'ping');
  assert.equal(picker.failures.get(`127.0.0.1:${hung}`), 1);
  assert.deepEqual(observer.of('error').map((e) => e.kind === 'error' && e.reason), ['timeout']);
  c.end();
  await observer.waitFor(isClosed);
  assert.equal(picker.outstanding, 0);
});

test(`when every dial fails the client is reset after at most ${MAX_DIAL_ATTEMPTS} distinct endpoints`, async (t) => {
  const dead = await Promise.all([closedPort(), closedPort(), closedPort(), closedPort()]);
  const { route, picker } = routeTo(dead);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('lost');
  assert.equal((await closed(c)).error, 'ECONNRESET');
  assert.equal(observer.of('error').length, MAX_DIAL_ATTEMPTS);
  assert.equal(new Set(picker.picked).size, MAX_DIAL_ATTEMPTS);
  assert.equal(observer.of('opened').length, 0);
  assert.equal(picker.outstanding, 0);
  await eventually(() => listener.connections === 0, 'connection forgotten');
});

test('no endpoint (or no cluster) closes the client and reports no-endpoint', async (t) => {
  const empty = routeTo([]);
  const a = await startProxy(t, empty.route);
  assert.equal((await closed(tcpClientRaw(a.listener.port))).error, 'ECONNRESET');
  assert.deepEqual(a.observer.events, [{ kind: 'error', route: ROUTE, cluster: CLUSTER, reason: 'no-endpoint' }]);

  const b = await startProxy(t, fixedRoute(ROUTE, undefined));
  assert.equal((await closed(tcpClientRaw(b.listener.port))).error, 'ECONNRESET');
  assert.deepEqual(b.observer.events, [{ kind: 'error', route: ROUTE, cluster: undefined, reason: 'no-endpoint' }]);
  await eventually(() => a.listener.connections === 0 && b.listener.connections === 0, 'no connections left');
});

test('a route swap leaves open connections on their cluster and sends new ones to the new route', async (t) => {
  const one = await tcpBackend(t, taggedEcho('one:'));
  const two = await tcpBackend(t, taggedEcho('two:'));
  const first = routeTo([one.port]);
  const { listener, observer } = await startProxy(t, first.route);
  const old = await tcpClient(listener.port);
  assert.equal((await readBytes(old, 4)).toString(), 'one:');

  const picker2 = new RoundRobinPicker([endpoint('127.0.0.1', two.port)]);
  listener.route = fixedRoute(ROUTE, l4Cluster('test/db-v2:5432', picker2));
  const fresh = await tcpClient(listener.port);
  assert.equal((await readBytes(fresh, 4)).toString(), 'two:');

  old.write('still here');
  assert.equal((await readBytes(old, 10)).toString(), 'still here');
  assert.equal(one.sockets.size, 1);
  assert.equal(two.sockets.size, 1);
  assert.deepEqual(observer.of('opened').map((e) => e.kind === 'opened' && e.cluster), [CLUSTER, 'test/db-v2:5432']);
  old.end();
  fresh.end();
  await eventually(() => observer.of('closed').length === 2, 'both connections closed');
  assert.equal(first.picker.outstanding + picker2.outstanding, 0);
});

test('close() stops accepting and lets open connections finish', async (t) => {
  const backend = await tcpBackend(t, echo);
  const { route } = routeTo([backend.port]);
  const { listener } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('a');
  await readBytes(c, 1);
  let done = false;
  const closing = listener.close(30_000).then(() => { done = true; });
  await assert.rejects(tcpClient(listener.port), /ECONNREFUSED/);
  c.write('b');
  assert.equal((await readBytes(c, 1)).toString(), 'b');
  assert.equal(done, false);
  c.end();
  await closing;
  assert.equal(listener.connections, 0);
});

test('close() destroys connections still open at the drain deadline', async (t) => {
  const backend = await tcpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('a');
  await readBytes(c, 1);
  const clientClosed = closed(c);
  await listener.close(50);
  assert.equal((await clientClosed).error, 'ECONNRESET');
  await observer.waitFor(isClosed);
  assert.equal(listener.connections, 0);
  assert.equal(picker.outstanding, 0);
});

test('the read timeout closes a connection whose backend stays silent', async (t) => {
  const backend = await tcpBackend(t, (s) => s.resume());
  const { route, picker } = routeTo([backend.port], { readTimeoutMs: 100 });
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('anyone?');
  assert.equal((await closed(c)).error, 'ECONNRESET');
  await observer.waitFor(isClosed);
  assert.equal(picker.outstanding, 0);
});

test('the read timeout does not cut a backend that keeps talking', async (t) => {
  // 50 chunks 20 ms apart outlast a 400 ms read timeout; the margin absorbs a busy test machine.
  const backend = await tcpBackend(t, (s) => {
    let n = 0;
    const timer = setInterval(() => {
      s.write('x');
      if (++n === 50) {
        clearInterval(timer);
        s.end();
      }
    }, 20);
    s.on('close', () => clearInterval(timer));
  });
  const { route } = routeTo([backend.port], { readTimeoutMs: 400 });
  const { listener } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.end();
  assert.equal((await readAll(c)).toString(), 'x'.repeat(50));
});

test('the write timeout closes a connection whose backend stops reading', async (t) => {
  const backend = await tcpBackend(t, (s) => s.pause());
  const { route, picker } = routeTo([backend.port], { writeTimeoutMs: 100 });
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  const gone = closed(c);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < 256 && !c.destroyed; i++) {
    if (!c.write(chunk)) await Promise.race([once(c, 'drain').catch(() => {}), gone]);
  }
  await gone;
  await observer.waitFor(isClosed);
  assert.equal(picker.outstanding, 0);
});

test('a backend reset tears down the client, and the listener keeps serving', async (t) => {
  const rude = await tcpBackend(t, (s) => s.once('data', () => s.resetAndDestroy()));
  const { route, picker } = routeTo([rude.port]);
  const { listener, observer } = await startProxy(t, route);
  for (let i = 0; i < 3; i++) {
    const c = await tcpClient(listener.port);
    c.write('hi');
    assert.equal((await closed(c)).error, 'ECONNRESET');
  }
  await eventually(() => observer.of('closed').length === 3, 'three closed connections');
  assert.equal(picker.outstanding, 0);
  assert.equal(listener.connections, 0);
});

test('a client reset tears down the backend connection', async (t) => {
  const backend = await tcpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const c = await tcpClient(listener.port);
  c.write('x');
  await readBytes(c, 1);
  c.resetAndDestroy();
  await observer.waitFor(isClosed);
  await eventually(() => backend.sockets.size === 0, 'backend socket closed');
  assert.equal(picker.outstanding, 0);
});

test('listen() rejects with listen-failed when the port is taken', async (t) => {
  const taken = await tcpBackend(t, echo);
  const { route } = routeTo([taken.port]);
  const listener = createTcpListener({ host: '127.0.0.1', port: taken.port, route, observer: new RecordingObserver(), log });
  await assert.rejects(listener.listen(), (e: unknown) => {
    assert.ok(isHostmeshError(e, 'listen-failed'));
    assert.match(e.message, new RegExp(`tcp listener for ${ROUTE} cannot listen on 127\\.0\\.0\\.1:${taken.port}: EADDRINUSE`));
    return true;
  });
  await listener.close(0);
});

test('a client leaving during a dial, or a drain deadline during one, abandons the dial cleanly', async (t) => {
  const hung = await unresponsivePort(t);
  const { route, picker } = routeTo([hung], { dialTimeoutMs: 60_000 });
  const { listener, observer } = await startProxy(t, route);
  const leaving = await tcpClient(listener.port);
  await eventually(() => picker.outstanding === 1, 'dial in progress');
  // A reset, not a FIN: a FIN during the dial is a half-close and the dial rightly goes on.
  leaving.resetAndDestroy();
  await eventually(() => listener.connections === 0, 'connection forgotten');
  assert.equal(picker.outstanding, 0);

  const staying = await tcpClient(listener.port);
  await eventually(() => picker.outstanding === 1, 'second dial in progress');
  const gone = closed(staying);
  await listener.close(50);
  assert.equal((await gone).error, 'ECONNRESET');
  assert.equal(picker.outstanding, 0);
  // Abandoned dials are not failures of the endpoint.
  assert.equal(picker.failures.size, 0);
  assert.equal(observer.events.length, 0);
});
