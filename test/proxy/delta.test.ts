/**
 * Incremental apply (docs/distribution.md): a delta is validated and built only where it
 * changes the table, commits atomically, and leaves everything else as the same objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceTracker, tableDigest, TABLE_FORMAT } from '../../src/table/index.ts';
import type { RoutingTable, TableDelta } from '../../src/table/index.ts';
import { client, engine, freePort, get, namedBackend, svc, table } from './helpers.ts';

/** The delta the controller's tracker finds from `prev` to `next` (the real diff code). */
function deltaBetween(prev: RoutingTable, next: RoutingTable): TableDelta {
  const tracker = new ResourceTracker();
  tracker.update(prev);
  const { changes, digest } = tracker.update(next);
  return { format: TABLE_FORMAT, epoch: prev.epoch, base: prev.version, version: next.version, generatedAt: next.generatedAt, digest, changes };
}

/** JSON round trip, as a delta arrives over the wire. */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('a delta touching one Service leaves the other routes and clusters as the same instances', async (t) => {
  const [a, b, b2, c3] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b'), namedBackend(t, 'b2'), namedBackend(t, 'c')]);
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const e = engine(t);
  const http = client(t);
  const v1 = table([
    { cluster: svc('one', [a.port]), listenPort: ports[0]! },
    { cluster: svc('two', [b.port]), listenPort: ports[1]! },
    { cluster: svc('three', [c3.port]), listenPort: ports[2]! },
  ], 1);
  assert.equal((await e.apply(v1)).ok, true);
  const before = new Map(['one', 'two', 'three'].map((n) => [n, e.built(`test/${n}:80`)!]));

  // Endpoints of `two` move: the change is one `endpoints` resource.
  const v2 = table([
    { cluster: svc('one', [a.port]), listenPort: ports[0]! },
    { cluster: svc('two', [b2.port]), listenPort: ports[1]! },
    { cluster: svc('three', [c3.port]), listenPort: ports[2]! },
  ], 2);
  const d2 = deltaBetween(v1, v2);
  assert.deepEqual(d2.changes.map((ch) => `${ch.kind} ${ch.key}`), ['endpoints test/two:80']);
  const r2 = await e.applyDelta(wire(d2));
  assert.equal(r2.ok, true, JSON.stringify(r2));
  assert.equal(e.current?.table.version, 2);
  assert.equal(e.current?.digest, tableDigest(v2));
  for (const n of ['one', 'two', 'three']) {
    const now = e.built(`test/${n}:80`)!;
    assert.equal(now.route, before.get(n)!.route, `route ${n} is the same object`);
    assert.equal(now.clusters[0], before.get(n)!.clusters[0], `cluster ${n} is the same object (its pool updated in place)`);
  }
  for (let i = 0; i < 3; i++) assert.equal((await get(http, `http://127.0.0.1:${ports[1]}/`)).body, 'b2');
  // Unchanged entries are shared with the previous table, not copies.
  assert.equal(e.current?.table.routes.find((r) => r.id === 'test/one:80'), v1.routes.find((r) => r.id === 'test/one:80'));

  // A policy change on `two` rebuilds its route only.
  const v3 = table([
    { cluster: svc('one', [a.port]), listenPort: ports[0]! },
    { cluster: svc('two', [b2.port]), listenPort: ports[1]!, route: { requestTimeoutMs: 5000 } },
    { cluster: svc('three', [c3.port]), listenPort: ports[2]! },
  ], 3);
  const d3 = deltaBetween(v2, v3);
  assert.deepEqual(d3.changes.map((ch) => `${ch.kind} ${ch.key}`), ['route test/two:80']);
  assert.equal((await e.applyDelta(wire(d3))).ok, true);
  assert.notEqual(e.built('test/two:80')!.route, before.get('two')!.route, 'the changed route is rebuilt');
  assert.equal(e.built('test/one:80')!.route, before.get('one')!.route);
  assert.equal(e.built('test/three:80')!.route, before.get('three')!.route);
  assert.equal((await get(http, `http://127.0.0.1:${ports[0]}/`)).body, 'a');
  assert.equal((await get(http, `http://127.0.0.1:${ports[1]}/`)).body, 'b2');
});

test('a bad delta is refused naming the problem, and the old table keeps serving', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const ports = await Promise.all([freePort(), freePort()]);
  const e = engine(t);
  const http = client(t);
  const v1 = table([{ cluster: svc('one', [a.port]), listenPort: ports[0]! }, { cluster: svc('two', [b.port]), listenPort: ports[1]! }], 1);
  await e.apply(v1);
  const base = { format: TABLE_FORMAT, epoch: v1.epoch, base: 1, version: 2, generatedAt: v1.generatedAt, digest: tableDigest(v1) };

  const cases: [string, unknown, RegExp][] = [
    ['a route naming an unknown cluster', { ...base, changes: [{ kind: 'route', key: 'test/one:80', value: { ...v1.routes[0], backends: [{ cluster: 'test/nope:80', weight: 1 }] } }] }, /names unknown cluster test\/nope:80/],
    ['removing a cluster a route still uses', { ...base, changes: [{ kind: 'cluster', key: 'test/two:80' }] }, /still names cluster test\/two:80/],
    ['a bad endpoint address', { ...base, changes: [{ kind: 'endpoints', key: 'test/one:80', value: [{ address: 'not-an-ip', port: 80 }] }] }, /endpoints.*must be an IPv4 or IPv6 address/],
    ['an unknown kind', { ...base, changes: [{ kind: 'secret', key: 'x' }] }, /kind: must be one of/],
    ['a bad cookie name (a proxy-side check)', deltaBetween(v1, table([{ cluster: svc('one', [a.port], { loadBalancer: { kind: 'cookie', cookie: 'bad cookie' } }), listenPort: ports[0]! }, { cluster: svc('two', [b.port]), listenPort: ports[1]! }], 2)), /must be a cookie name/],
    ['not an object', 'garbage', /must be an object/],
  ];
  for (const [what, delta, message] of cases) {
    const r = await e.applyDelta(wire(delta));
    assert.equal(r.ok, false, what);
    assert.equal(!r.ok && r.error.code, 'TABLE_INVALID', what);
    assert.match(!r.ok ? r.error.message : '', message, what);
  }
  // A delta from elsewhere (wrong base, wrong digest) is a gap, not a refusal.
  const gap = await e.applyDelta(wire({ ...base, base: 7, version: 8, changes: [] }));
  assert.equal(!gap.ok && gap.error.code, 'DELTA_GAP');
  const diverged = await e.applyDelta(wire({ ...base, digest: '0'.repeat(32), changes: [{ kind: 'endpoints', key: 'test/one:80', value: [] }] }));
  assert.equal(!diverged.ok && diverged.error.code, 'DELTA_GAP');
  assert.match(!diverged.ok ? diverged.error.message : '', /digest/);

  assert.equal(e.current?.table.version, 1);
  assert.equal(e.current?.digest, tableDigest(v1));
  assert.equal((await get(http, `http://127.0.0.1:${ports[0]}/`)).body, 'a');
  assert.equal((await get(http, `http://127.0.0.1:${ports[1]}/`)).body, 'b');
});

test('after deltas that add, change and remove Services, the table equals a fresh snapshot and a restart from it serves the same', async (t) => {
  const [a, b, c3] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b'), namedBackend(t, 'c')]);
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const e = engine(t);
  const http = client(t);
  const versions = [
    table([{ cluster: svc('one', [a.port]), listenPort: ports[0]! }, { cluster: svc('two', [b.port]), listenPort: ports[1]! }], 1),
    table([{ cluster: svc('one', [a.port, b.port]), listenPort: ports[0]! }, { cluster: svc('two', [b.port]), listenPort: ports[1]! }, { cluster: svc('three', [c3.port]), listenPort: ports[2]! }], 2),
    table([{ cluster: svc('one', [b.port]), listenPort: ports[0]! }, { cluster: svc('three', [c3.port], { dialTimeoutMs: 500 }), listenPort: ports[2]! }], 3),
  ];
  await e.apply(versions[0]);
  for (let i = 1; i < versions.length; i++) {
    const r = await e.applyDelta(wire(deltaBetween(versions[i - 1]!, versions[i]!)));
    assert.equal(r.ok, true, JSON.stringify(r));
  }
  const last = versions.at(-1)!;
  assert.equal(e.current?.digest, tableDigest(last));
  assert.deepEqual(new Set(e.current!.table.routes.map((r) => r.id)), new Set(last.routes.map((r) => r.id)));
  assert.equal((await get(http, `http://127.0.0.1:${ports[0]}/`)).body, 'b');
  assert.equal((await get(http, `http://127.0.0.1:${ports[2]}/`)).body, 'c');
  const routesAfterDeltas = e.routes();
  const saved = wire(e.current!.table);
  await e.close();

  // A restart from the saved (full) table serves what a fresh snapshot serves.
  const restarted = engine(t);
  const r = await restarted.apply(saved);
  assert.equal(r.ok && r.digest, tableDigest(last));
  assert.deepEqual(restarted.routes(), routesAfterDeltas);
  assert.equal((await get(http, `http://127.0.0.1:${ports[0]}/`)).body, 'b');
  assert.equal((await get(http, `http://127.0.0.1:${ports[2]}/`)).body, 'c');
});
