/**
 * The identity map in the proxy: the table's `identities` become the engine's address ->
 * identity lookup (IPv4-mapped IPv6 unwrapped), kept current by snapshots and deltas, and
 * handed to the L4 listeners, which see a real connection's source address (127.0.0.x).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ResourceTracker, TABLE_FORMAT } from '../../src/table/index.ts';
import type { IdentityEntry, RoutingTable, TableDelta } from '../../src/table/index.ts';
import type { L4Listener, L4ListenerOptions } from '../../src/proxy/l4-listeners.ts';
import { engine, freePort, LOOPBACK, netL4Listener, svc, table } from './helpers.ts';

const A: IdentityEntry = { address: '127.0.0.2', namespace: 'team-a', serviceAccount: 'client', pod: 'team-a/client-0' };
const B: IdentityEntry = { address: '127.0.0.3', namespace: 'team-b', serviceAccount: 'default' };

/** A TCP listener of the L4 seam that answers each connection with its client's namespace. */
function whoAmIListener(opts: L4ListenerOptions): L4Listener {
  return netL4Listener(opts, (s) => s.end(`${opts.identities?.identify(s.remoteAddress)?.namespace ?? 'unknown'}\n`));
}

function ask(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: LOOPBACK, port, localAddress });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('end', () => resolve(text.trim()));
    s.on('error', reject);
  });
}

function delta(prev: RoutingTable, next: RoutingTable): TableDelta {
  const tracker = new ResourceTracker();
  tracker.update(prev);
  const { changes, digest } = tracker.update(next);
  return JSON.parse(JSON.stringify({ format: TABLE_FORMAT, epoch: prev.epoch, base: prev.version, version: next.version, generatedAt: next.generatedAt, digest, changes })) as TableDelta;
}

test('the engine looks identities up by source address; deltas change them without rebuilding routes', async (t) => {
  const e = engine(t);
  const port = await freePort();
  const v1: RoutingTable = { ...table([{ cluster: svc('web', [1]), listenPort: port }], 1), identities: [A, { ...B, address: '::ffff:127.0.0.3' }] };
  assert.equal((await e.apply(v1)).ok, true);
  assert.equal(e.identities.size, 2);
  assert.equal(e.identities.identify('127.0.0.2')?.namespace, 'team-a');
  assert.equal(e.identities.identify('::ffff:127.0.0.2')?.serviceAccount, 'client');
  assert.equal(e.identities.identify('127.0.0.3')?.namespace, 'team-b', 'a mapped address in the table is found by its IPv4 form');
  assert.equal(e.identities.identify('127.0.0.9'), undefined);
  assert.equal(e.identities.identify(undefined), undefined);

  const route = e.built('test/web:80')!.route;
  const v2: RoutingTable = { ...v1, version: 2, identities: [{ ...A, namespace: 'team-c' }] };
  const r = await e.applyDelta(delta(v1, v2));
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(e.identities.identify('127.0.0.2')?.namespace, 'team-c');
  assert.equal(e.identities.identify('127.0.0.3'), undefined);
  assert.equal(e.built('test/web:80')!.route, route, 'an identity change rebuilds no route');

  // A full table without identities empties the map.
  assert.equal((await e.apply({ ...v1, version: 3, identities: undefined })).ok, true);
  assert.equal(e.identities.size, 0);
});

test('L4 listeners get the lookup and see a real connection\'s source address', async (t) => {
  const e = engine(t, { l4: { tcp: whoAmIListener } });
  const port = await freePort();
  const base = table([{ cluster: svc('db', [1], { protocol: 'tcp' }), listenPort: port }], 1);
  assert.equal((await e.apply({ ...base, identities: [A, B] })).ok, true);
  assert.deepEqual(await Promise.all([ask(port, '127.0.0.2'), ask(port, '127.0.0.3'), ask(port, '127.0.0.4')]), ['team-a', 'team-b', 'unknown']);
  // The listener keeps the same lookup object; the next table's map is what it sees.
  assert.equal((await e.apply({ ...base, version: 2, identities: [{ ...B, namespace: 'team-z' }] })).ok, true);
  assert.deepEqual(await Promise.all([ask(port, '127.0.0.2'), ask(port, '127.0.0.3')]), ['unknown', 'team-z']);
});

test('a table with a bad identity entry is refused and the map keeps serving', async (t) => {
  const e = engine(t);
  const port = await freePort();
  const v1: RoutingTable = { ...table([{ cluster: svc('web', [1]), listenPort: port }], 1), identities: [A] };
  assert.equal((await e.apply(v1)).ok, true);
  const r = await e.apply({ ...v1, version: 2, identities: [{ address: 'not-an-ip', namespace: 'x', serviceAccount: 'y' }] });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', /\$\.identities\[0\]\.address: must be an IPv4 or IPv6 address, got "not-an-ip"/);
  assert.equal(e.identities.identify('127.0.0.2')?.namespace, 'team-a');
});
