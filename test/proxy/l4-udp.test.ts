import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { TestContext } from 'node:test';
import { createUdpListener } from '../../src/proxy/l4/udp.ts';
import type { UdpListener, UdpListenerOptions } from '../../src/proxy/l4/udp.ts';
import type { L4Route } from '../../src/proxy/types.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import { RecordingObserver, RoundRobinPicker, endpoint, fixedRoute, l4Cluster } from '../support/l4-picker.ts';
import { eventually, log, udpBackend, udpExchange, udpSocket } from './l4-fixtures.ts';

const ROUTE = 'test/dns:53';
const CLUSTER = 'test/dns-v1:53';

async function startProxy(t: TestContext, route: L4Route, extra: Partial<UdpListenerOptions> = {}): Promise<{ listener: UdpListener; observer: RecordingObserver }> {
  const observer = new RecordingObserver();
  const listener = createUdpListener({ host: '127.0.0.1', port: 0, route, observer, log, ...extra });
  await listener.listen();
  t.after(() => listener.close(0));
  return { listener, observer };
}

function routeTo(ports: number[], extra: Parameters<typeof l4Cluster>[2] = {}, address = '127.0.0.1'): { route: L4Route; picker: RoundRobinPicker } {
  const picker = new RoundRobinPicker(ports.map((p) => endpoint(address, p)));
  return { route: fixedRoute(ROUTE, l4Cluster(CLUSTER, picker, extra)), picker };
}

const echo = (m: Buffer): Buffer => m;

test('UDP echo through the listener; replies come from the listening address', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const client = await udpSocket(t);
  const replyFrom = new Promise<number>((resolve) => client.once('message', (_m, rinfo) => resolve(rinfo.port)));
  assert.equal((await udpExchange(client, listener.port, 'ping')).toString(), 'ping');
  assert.equal(await replyFrom, listener.port);
  assert.equal((await udpExchange(client, listener.port, 'again')).toString(), 'again');
  assert.equal(listener.connections, 1);
  assert.equal(backend.sources.size, 1);
  assert.deepEqual(observer.of('opened'), [{ kind: 'opened', route: ROUTE, cluster: CLUSTER }]);
  assert.equal(picker.successes.get(`127.0.0.1:${backend.port}`), 1);
  assert.equal(picker.outstanding, 1);
  await listener.close(0);
  assert.deepEqual(observer.of('closed'), [{ kind: 'closed', route: ROUTE, cluster: CLUSTER, bytesIn: 9, bytesOut: 9 }]);
  assert.equal(picker.outstanding, 0);
});

test('several clients each get their own replies through their own session', async (t) => {
  const backend = await udpBackend(t, (m) => Buffer.from(`re:${m.toString()}`));
  const { route } = routeTo([backend.port]);
  const { listener } = await startProxy(t, route);
  const clients = await Promise.all([udpSocket(t), udpSocket(t), udpSocket(t)]);
  const got: string[][] = clients.map(() => []);
  clients.forEach((c, i) => c.on('message', (m) => got[i]!.push(m.toString())));
  for (let round = 0; round < 5; round++) {
    clients.forEach((c, i) => c.send(`c${i}-${round}`, listener.port, '127.0.0.1'));
  }
  await eventually(() => got.every((g) => g.length === 5), 'five replies per client');
  got.forEach((g, i) => assert.deepEqual(g.toSorted(), [0, 1, 2, 3, 4].map((r) => `re:c${i}-${r}`)));
  assert.equal(listener.connections, 3);
  assert.equal(backend.sources.size, 3);
});

test('an idle session expires (cluster read timeout) and the next datagram opens a new one', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([backend.port], { readTimeoutMs: 100 });
  const { listener, observer } = await startProxy(t, route);
  const client = await udpSocket(t);
  await udpExchange(client, listener.port, 'one');
  assert.equal(listener.connections, 1);
  await observer.waitFor((e) => e.kind === 'closed');
  assert.equal(listener.connections, 0);
  assert.equal(picker.outstanding, 0);
  assert.equal((await udpExchange(client, listener.port, 'two')).toString(), 'two');
  // A new session means a new upstream socket, so the backend sees a second source.
  assert.equal(backend.sources.size, 2);
  assert.equal(observer.of('opened').length, 2);
});

test('the listener default idle expiry applies when the cluster sets no read timeout', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route, { idleTimeoutMs: 80 });
  const client = await udpSocket(t);
  await udpExchange(client, listener.port, 'x');
  await observer.waitFor((e) => e.kind === 'closed');
  assert.equal(listener.connections, 0);
});

test('sessions are bounded: the least recently used is evicted, and its client still gets answers', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route, { maxSessions: 3 });
  const clients = await Promise.all([0, 1, 2, 3, 4].map(() => udpSocket(t)));
  for (const [i, c] of clients.entries()) assert.equal((await udpExchange(c, listener.port, `c${i}`)).toString(), `c${i}`);
  assert.equal(listener.connections, 3);
  assert.equal(listener.evictions, 2);
  assert.equal(observer.of('closed').length, 2);
  assert.equal(picker.outstanding, 3);
  // The first client was evicted; it gets a new session (and evicts another).
  assert.equal((await udpExchange(clients[0]!, listener.port, 'back')).toString(), 'back');
  assert.equal(listener.connections, 3);
  assert.equal(listener.evictions, 3);
});

test('UDP over IPv6', async (t) => {
  const backend = await udpBackend(t, echo, 'udp6');
  const { route } = routeTo([backend.port], {}, '::1');
  const { listener } = await startProxy(t, route, { host: '::1' });
  const client = await udpSocket(t, 'udp6');
  assert.equal((await udpExchange(client, listener.port, 'six', '::1')).toString(), 'six');
});

test('an endpoint that answers with ICMP port unreachable is reported and the next session goes elsewhere', async (t) => {
  const deadSocket = await udpSocket(t);
  const dead = deadSocket.address().port;
  await new Promise<void>((resolve) => deadSocket.close(() => resolve()));
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([dead, backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const client = await udpSocket(t);
  client.send('lost', listener.port, '127.0.0.1');
  await observer.waitFor((e) => e.kind === 'error');
  assert.deepEqual(observer.of('error'), [{ kind: 'error', route: ROUTE, cluster: CLUSTER, reason: 'refused' }]);
  assert.equal(picker.failures.get(`127.0.0.1:${dead}`), 1);
  await eventually(() => listener.connections === 0, 'failed session forgotten');
  assert.equal((await udpExchange(client, listener.port, 'found')).toString(), 'found');
  assert.equal(picker.outstanding, 1);
});

test('no endpoint or no cluster: datagrams are dropped and reported', async (t) => {
  const a = await startProxy(t, routeTo([]).route);
  const b = await startProxy(t, fixedRoute(ROUTE, undefined));
  const client = await udpSocket(t);
  client.send('a', a.listener.port, '127.0.0.1');
  client.send('b', b.listener.port, '127.0.0.1');
  await a.observer.waitFor((e) => e.kind === 'error');
  await b.observer.waitFor((e) => e.kind === 'error');
  assert.deepEqual(a.observer.events, [{ kind: 'error', route: ROUTE, cluster: CLUSTER, reason: 'no-endpoint' }]);
  assert.deepEqual(b.observer.events, [{ kind: 'error', route: ROUTE, cluster: undefined, reason: 'no-endpoint' }]);
  assert.equal(a.listener.connections + b.listener.connections, 0);
});

test('a route swap keeps sessions on their cluster and sends new clients to the new route', async (t) => {
  const one = await udpBackend(t, (m) => Buffer.from(`one:${m.toString()}`));
  const two = await udpBackend(t, (m) => Buffer.from(`two:${m.toString()}`));
  const { route } = routeTo([one.port]);
  const { listener } = await startProxy(t, route);
  const old = await udpSocket(t);
  assert.equal((await udpExchange(old, listener.port, 'a')).toString(), 'one:a');
  listener.route = fixedRoute(ROUTE, l4Cluster('test/dns-v2:53', new RoundRobinPicker([endpoint('127.0.0.1', two.port)])));
  const fresh = await udpSocket(t);
  assert.equal((await udpExchange(fresh, listener.port, 'b')).toString(), 'two:b');
  assert.equal((await udpExchange(old, listener.port, 'c')).toString(), 'one:c');
});

test('close() keeps relaying for existing sessions, opens no new ones, and ends when they go idle', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route, { idleTimeoutMs: 1000 });
  const old = await udpSocket(t);
  await udpExchange(old, listener.port, 'before');
  // The drain deadline is far away: close() returns because the last session expires.
  const closing = listener.close(60_000);
  assert.equal((await udpExchange(old, listener.port, 'during')).toString(), 'during');
  const fresh = await udpSocket(t);
  fresh.send('nobody', listener.port, '127.0.0.1');
  await closing;
  assert.equal(backend.sources.size, 1);
  assert.equal(observer.of('opened').length, 1);
  assert.equal(observer.of('closed').length, 1);
  assert.equal(picker.outstanding, 0);
});

test('close() closes sessions still open at the drain deadline', async (t) => {
  const backend = await udpBackend(t, echo);
  const { route, picker } = routeTo([backend.port]);
  const { listener, observer } = await startProxy(t, route);
  const client = await udpSocket(t);
  await udpExchange(client, listener.port, 'x');
  await listener.close(50);
  assert.equal(observer.of('closed').length, 1);
  assert.equal(picker.outstanding, 0);
});

test('listen() rejects with listen-failed when the UDP port is taken', async (t) => {
  const taken = createSocket('udp4');
  await new Promise<void>((resolve) => taken.bind({ address: '127.0.0.1', port: 0 }, resolve));
  t.after(() => taken.close());
  const listener = createUdpListener({ host: '127.0.0.1', port: taken.address().port, route: routeTo([]).route, observer: new RecordingObserver(), log });
  await assert.rejects(listener.listen(), (e: unknown) => {
    assert.ok(isHostmeshError(e, 'listen-failed'));
    assert.match(e.message, /udp listener for test\/dns:53 cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    return true;
  });
  await listener.close(0);
});
