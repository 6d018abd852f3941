import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyTableDelta, ResourceTracker, TABLE_FORMAT, tableDigest } from '../../src/table/index.ts';
import type { RoutingTable, TableDelta } from '../../src/table/index.ts';
import { content } from '../controller/push-fixtures.ts';

function tableOf(services: number[], endpointPort: (i: number) => number, version: number): RoutingTable {
  const all = content(Math.max(0, ...services) + 1);
  const keep = new Set(services.map((i) => `bench/svc-${i}:80`));
  return {
    format: TABLE_FORMAT,
    epoch: 'e',
    version,
    generatedAt: 'x',
    dns: { ...all.dns, services: all.dns.services.filter((s) => keep.has(`${s.namespace}/${s.name}:80`)) },
    listeners: all.listeners.filter((l) => keep.has(l.route)),
    routes: all.routes.filter((r) => keep.has(r.id)),
    clusters: all.clusters.filter((c) => keep.has(c.id)).map((c, i) => ({ ...c, endpoints: c.endpoints.map((e) => ({ ...e, port: endpointPort(i) })) })),
  };
}

function delta(tracker: ResourceTracker, prev: RoutingTable, next: RoutingTable): TableDelta {
  const { changes, digest } = tracker.update(next);
  return { format: TABLE_FORMAT, epoch: prev.epoch, base: prev.version, version: next.version, generatedAt: next.generatedAt, digest, changes };
}

test('the tracker finds exactly the changed resources; its digest is tableDigest', () => {
  const tracker = new ResourceTracker();
  const v1 = tableOf([0, 1, 2], () => 8080, 1);
  assert.equal(tracker.update(v1).digest, tableDigest(v1));
  const v2 = tableOf([0, 1, 2], (i) => (i === 1 ? 9090 : 8080), 2);
  const d2 = delta(tracker, v1, v2);
  assert.deepEqual(d2.changes.map((c) => `${c.kind} ${c.key}`), ['endpoints bench/svc-1:80']);
  assert.equal(d2.digest, tableDigest(v2));
  const v3 = tableOf([0, 2], (i) => (i === 1 ? 9090 : 8080), 3);
  const d3 = delta(tracker, v2, v3);
  assert.deepEqual(d3.changes.map((c) => `${c.kind} ${c.key}${c.value === undefined ? ' removed' : ''}`).toSorted(), [
    'cluster bench/svc-1:80 removed', 'dnsService bench/svc-1 removed', 'endpoints bench/svc-2:80', 'listener 10001 removed', 'route bench/svc-1:80 removed',
  ]);
  // The digest does not depend on the order of entries.
  assert.equal(tableDigest({ ...v3, routes: v3.routes.toReversed(), clusters: v3.clusters.toReversed() }), tableDigest(v3));
});

test('property: applying the tracked delta to the previous table gives the next table', () => {
  const tableArb = fc.record({ services: fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { maxLength: 8 }), ports: fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 13, maxLength: 13 }) });
  fc.assert(fc.property(fc.array(tableArb, { minLength: 2, maxLength: 6 }), (steps) => {
    const tracker = new ResourceTracker();
    let served = tableOf(steps[0]!.services, (i) => steps[0]!.ports[i]!, 1);
    let digest = tracker.update(served).digest;
    for (let v = 1; v < steps.length; v++) {
      const next = tableOf(steps[v]!.services, (i) => steps[v]!.ports[i]!, v + 1);
      const d = JSON.parse(JSON.stringify(delta(tracker, served, next))) as unknown;
      const r = applyTableDelta(served, digest, d);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.digest, tableDigest(next));
      assert.equal(tableDigest(r.table), tableDigest(next));
      assert.deepEqual(new Set(r.table.clusters.map((c) => c.id)), new Set(next.clusters.map((c) => c.id)));
      served = r.table;
      digest = r.digest;
    }
  }), { numRuns: 150 });
});

test('property: any input is refused or applied, never thrown', () => {
  const base = tableOf([0, 1], () => 8080, 1);
  const digest = tableDigest(base);
  const change = fc.record({ kind: fc.constantFrom('dns', 'dnsService', 'listener', 'route', 'cluster', 'endpoints', 'identity', 'x'), key: fc.oneof(fc.string(), fc.constantFrom('bench/svc-0:80', '10000', 'dns')), value: fc.option(fc.anything(), { nil: undefined }) }, { requiredKeys: ['kind', 'key'] });
  const input = fc.oneof(
    fc.anything(),
    fc.record({ format: fc.constant(1), epoch: fc.constant('e'), base: fc.constant(1), version: fc.constant(2), generatedAt: fc.constant('x'), digest: fc.constant(digest), changes: fc.array(change, { maxLength: 5 }) }),
  );
  fc.assert(fc.property(input, (d) => {
    const r = applyTableDelta(base, digest, d);
    if (!r.ok) assert.ok(r.problems.length > 0);
  }), { numRuns: 500 });
  assert.equal(tableDigest(base), digest, 'the base table is never modified');
});

test('a delta that does not follow the table served is a gap', () => {
  const base = tableOf([0], () => 8080, 5);
  const d = { format: 1, epoch: 'e', base: 4, version: 6, generatedAt: 'x', digest: tableDigest(base), changes: [] };
  const r = applyTableDelta(base, tableDigest(base), d);
  assert.deepEqual(!r.ok && [r.gap, r.problems[0]!.message], [true, 'delta e:4->6 does not follow the table served, e:5']);
  const other = applyTableDelta(base, tableDigest(base), { ...d, epoch: 'f', base: 5 });
  assert.equal(!other.ok && other.gap, true);
});

test('identity map entries are resources keyed by address: tracked, applied, removed, digested', () => {
  const tracker = new ResourceTracker();
  const v1 = { ...tableOf([0], () => 8080, 1), identities: [{ address: '10.1.0.1', namespace: 'a', serviceAccount: 'default' }, { address: '10.1.0.2', namespace: 'b', serviceAccount: 'default' }] };
  let digest = tracker.update(v1).digest;
  assert.equal(digest, tableDigest(v1));
  assert.notEqual(digest, tableDigest({ ...v1, identities: [] }), 'identities count in the digest');
  const v2 = { ...v1, version: 2, identities: [v1.identities[0]!, { address: '10.1.0.3', namespace: 'c', serviceAccount: 'web' }] };
  const d2 = delta(tracker, v1, v2);
  assert.deepEqual(d2.changes.map((c) => `${c.kind} ${c.key}${c.value === undefined ? ' removed' : ''}`).toSorted(), ['identity 10.1.0.2 removed', 'identity 10.1.0.3']);
  const r = applyTableDelta(v1, digest, JSON.parse(JSON.stringify(d2)));
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.digest, tableDigest(v2));
  assert.deepEqual(r.table.identities!.map((e) => e.address).toSorted(), ['10.1.0.1', '10.1.0.3']);
  assert.equal(r.touched.identities, true);
  assert.equal(r.table.identities![0], v1.identities[0], 'an unchanged entry keeps its object');
  digest = r.digest;
  // Problems name the change: a key that is not the entry's address, an unknown removal, a bad entry.
  const bad = (changes: unknown[]) => {
    const res = applyTableDelta(r.table, digest, { format: 1, epoch: 'e', base: 2, version: 3, generatedAt: 'x', digest, changes });
    return res.ok ? '' : res.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  };
  assert.match(bad([{ kind: 'identity', key: '10.1.0.9', value: { address: '10.1.0.8', namespace: 'a', serviceAccount: 's' } }]), /\$\.changes\[0\]\(identity 10\.1\.0\.9\)\.key: must be the entry's address, got "10\.1\.0\.9"/);
  assert.match(bad([{ kind: 'identity', key: '10.1.0.9' }]), /removes unknown identity 10\.1\.0\.9/);
  assert.match(bad([{ kind: 'identity', key: 'x', value: { address: 'x', namespace: 'a', serviceAccount: 's' } }]), /\(identity x\)\.value\.address: must be an IPv4 or IPv6 address, got "x"/);
  // A delta that touches no identity keeps the identities array itself.
  const v3 = { ...v2, version: 3, clusters: v2.clusters.map((c) => ({ ...c, endpoints: [{ address: '10.0.0.9', port: 1 }] })) };
  const r3 = applyTableDelta(r.table, digest, JSON.parse(JSON.stringify(delta(tracker, v2, v3))));
  assert.ok(r3.ok);
  assert.equal(r3.table.identities, r.table.identities);
  assert.equal(r3.touched.identities, false);
});
