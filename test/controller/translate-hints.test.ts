/**
 * Change-hinted translation (translation/incremental.ts): told which objects changed, translate()
 * patches the last table instead of visiting every Service, and the publisher's tracker hashes
 * only the entries it replaced. The full translation is the reference: for any sequence of
 * changes both give equal tables, diagnostics, ports and settings, and the tracker fed hints
 * finds the same changes and digest as one that compares everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResourceTracker } from '../../src/table/index.ts';
import type { PortId, ResourceChange } from '../../src/table/index.ts';
import { translate } from '../../src/controller/translation/translate.ts';
import { emptyMemory } from '../../src/controller/translation/types.ts';
import type { TranslateOptions, TranslationMemory } from '../../src/controller/translation/types.ts';
import type { ClusterChange, ClusterState, EndpointSliceObject, ServiceObject } from '../../src/controller/objects.ts';
import { checkBrackets } from './support/expressions.ts';
import { state } from './support/arbitraries.ts';
import { pod } from '../support/kube.ts';

const key = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace || 'default'}/${o.metadata.name}`;
const byKey = <T extends { metadata: { namespace?: string; name: string } }>(list: readonly T[]): T[] =>
  list.toSorted((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** One edit of a state, with objects from a pool state: what a watch event brings. */
type Edit =
  | { kind: 'endpoints'; at: number; from: number }
  | { kind: 'annotations'; at: number; from: number }
  | { kind: 'remove-slice'; at: number }
  | { kind: 'add-slice'; from: number }
  | { kind: 'remove-service'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('endpoints' as const), at: fc.nat(), from: fc.nat() }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('annotations' as const), at: fc.nat(), from: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('remove-slice' as const), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('add-slice' as const), from: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('remove-service' as const), at: fc.nat() }), weight: 1 },
);

const SIMPLE: readonly Record<string, string>[] = [
  {}, { 'hostmesh.io/dial-timeout': '2s' }, { 'hostmesh.io/retry-count': '3' }, { 'hostmesh.io/load-balancer': 'cookie' },
  { 'hostmesh.io/traffic-type': 'tcp' }, { 'hostmesh.io/retry-on': "path('/a')" }, { 'hostmesh.io/dial-timeout': 'soon' },
];

/** The next state and the hint a source gives with it (lists sorted, as sources hand them over). */
function apply(s: ClusterState, pool: ClusterState, e: Edit): { next: ClusterState; change: ClusterChange } {
  const slices: { before?: EndpointSliceObject; after?: EndpointSliceObject }[] = [];
  const services = new Set<string>();
  let next = s;
  const pick = <T>(list: readonly T[], i: number): T | undefined => list.length === 0 ? undefined : list[i % list.length];
  if (e.kind === 'endpoints' || e.kind === 'remove-slice') {
    const before = pick(s.endpointSlices, e.at);
    const source = e.kind === 'endpoints' ? pick(pool.endpointSlices, e.from) : undefined;
    if (before) {
      const after: EndpointSliceObject | undefined = e.kind === 'remove-slice' ? undefined
        : { ...before, endpoints: source?.endpoints ?? [], ...(source?.ports ? { ports: source.ports } : {}) };
      next = { ...s, endpointSlices: after ? s.endpointSlices.map((x) => x === before ? after : x) : s.endpointSlices.filter((x) => x !== before) };
      slices.push({ before, ...(after ? { after } : {}) });
    }
  } else if (e.kind === 'add-slice') {
    const after = pick(pool.endpointSlices, e.from);
    if (after) {
      next = { ...s, endpointSlices: byKey([...s.endpointSlices, after]) };
      slices.push({ after });
    }
  } else {
    const before = pick(s.services, e.at);
    if (before) {
      // Half of the time settings that keep the route to itself (patchable), else the pool's.
      const from = e.kind === 'annotations' ? e.from : 0;
      const annotations = from % 2 === 0 ? SIMPLE[(from >> 1) % SIMPLE.length] : pick(pool.services, from >> 1)?.metadata.annotations;
      const after: ServiceObject | undefined = e.kind === 'remove-service' ? undefined
        : { ...before, metadata: { ...before.metadata, annotations: annotations ?? {} } };
      next = { ...s, services: after ? s.services.map((x) => x === before ? after : x) : s.services.filter((x) => x !== before) };
      services.add(key(before));
    }
  }
  return { next, change: { base: s, services, endpointSlices: slices, pods: false } };
}

const options: TranslateOptions = { mode: 'standalone', portRange: [15000, 15019], checkExpression: checkBrackets };
const withoutMemo = (m: TranslationMemory): TranslationMemory => ({ settings: m.settings });
const sortChanges = (c: readonly ResourceChange[]): ResourceChange[] => c.toSorted((a, b) => `${a.kind} ${a.key}` < `${b.kind} ${b.key}` ? -1 : 1);

test('property: a change-hinted translation equals a full one, and so do the publisher\'s changes', () => {
  let patched = 0;
  fc.assert(fc.property(state, state, fc.array(edit, { minLength: 1, maxLength: 8 }), (first, pool, edits) => {
    let s: ClusterState = { services: byKey(first.services), endpointSlices: byKey(first.endpointSlices) };
    let result = translate({ state: s, memory: emptyMemory(), ports: new Map(), options });
    const hinted = new ResourceTracker();
    const full = new ResourceTracker();
    hinted.update(result.content);
    full.update(result.content);
    let ports: ReadonlyMap<PortId, number> = result.ports;
    edits.forEach((e, i) => {
      const { next, change } = apply(s, pool, e);
      const reference = translate({ state: next, memory: withoutMemo(result.memory), ports, options });
      result = translate({ state: next, memory: result.memory, ports, options, changes: change });
      if (result.changes) patched++;
      assert.deepEqual(result.content, reference.content, `edit ${i} (${e.kind}): content`);
      assert.deepEqual(result.diagnostics, reference.diagnostics, `edit ${i}: diagnostics`);
      assert.deepEqual([...result.ports].toSorted(), [...reference.ports].toSorted(), `edit ${i}: ports`);
      assert.deepEqual([...result.memory.settings].toSorted(), [...reference.memory.settings].toSorted(), `edit ${i}: last good settings`);
      const a = hinted.update(result.content, result.changes);
      const b = full.update(reference.content);
      assert.equal(a.digest, b.digest, `edit ${i}: digest`);
      assert.deepEqual(sortChanges(a.changes), sortChanges(b.changes), `edit ${i}: published changes`);
      s = next;
      ports = result.ports;
    });
  }), { numRuns: 300 });
  // The property must have exercised the patching path, not only the fallback.
  assert.ok(patched > 100, `only ${patched} edits were patched`);
});

test('an endpoint change is patched: one cluster replaced, every other entry and array shared', () => {
  const services: ServiceObject[] = Array.from({ length: 50 }, (_, i) => ({ metadata: { name: `s${String(i).padStart(2, '0')}`, namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }));
  const slice = (i: number, address: string): EndpointSliceObject => ({
    metadata: { name: `s${String(i).padStart(2, '0')}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': `s${String(i).padStart(2, '0')}` } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  const s: ClusterState = { services, endpointSlices: services.map((_, i) => slice(i, `10.0.0.${i + 1}`)) };
  const first = translate({ state: s, memory: emptyMemory(), ports: new Map(), options: { mode: 'standalone', portRange: [15000, 15999] } });
  const before = s.endpointSlices[7]!;
  const after = slice(7, '10.9.9.9');
  const next = { ...s, endpointSlices: s.endpointSlices.with(7, after) };
  const r = translate({ state: next, memory: first.memory, ports: first.ports, options: { mode: 'standalone', portRange: [15000, 15999] }, changes: { base: s, services: new Set(), endpointSlices: [{ before, after }], pods: false } });
  assert.ok(r.changes, 'patched');
  assert.equal(r.ports, first.ports, 'the same allocation');
  assert.deepEqual(r.changes.clusters.map((c) => c.id), ['shop/s07:80']);
  assert.equal(r.content.listeners, first.content.listeners);
  assert.equal(r.content.clusters.filter((c, i) => c !== first.content.clusters[i]).length, 1);
  assert.equal(r.diagnostics, first.diagnostics);
  // New settings of one Service: its route is replaced, as a full translation builds it.
  const retried = { ...next, services: next.services.with(3, { ...services[3]!, metadata: { ...services[3]!.metadata, annotations: { 'hostmesh.io/retry-count': '3' } } }) };
  const o = { mode: 'standalone' as const, portRange: [15000, 15999] as [number, number] };
  const third = translate({ state: retried, memory: r.memory, ports: r.ports, options: o, changes: { base: next, services: new Set(['shop/s03']), endpointSlices: [], pods: false } });
  assert.ok(third.changes, 'patched');
  assert.deepEqual(third.changes.routes.map((x) => x.id), ['shop/s03:80']);
  assert.deepEqual(third.content, translate({ state: retried, memory: emptyMemory(), ports: r.ports, options: o }).content);
  // A hint about another base is not trusted: a full translation, with the same output.
  const again = translate({ state: retried, memory: third.memory, ports: third.ports, options: o, changes: { base: s, services: new Set(), endpointSlices: [], pods: false } });
  assert.equal(again.changes, undefined);
  assert.deepEqual(again.content, third.content);
});

test('a pod change with its hint patches the identity map: a readiness flip keeps the same array, a new address is patched in', () => {
  const o: TranslateOptions = { mode: 'standalone', portRange: [15000, 15999] };
  const pods = Array.from({ length: 20 }, (_, i) => pod('shop', `web-${String(i).padStart(2, '0')}`, `10.0.0.${i + 1}`, 'web'));
  const s: ClusterState = { services: [], endpointSlices: [], pods };
  const first = translate({ state: s, memory: emptyMemory(), ports: new Map(), options: o });
  const flipped = { ...pods[3]!, status: { ...pods[3]!.status, conditions: [{ type: 'Ready', status: 'False' }] } };
  const s2: ClusterState = { ...s, pods: pods.with(3, flipped) };
  const second = translate({ state: s2, memory: first.memory, ports: first.ports, options: o, changes: { base: s, services: new Set(), endpointSlices: [], pods: true, podChanges: [{ before: pods[3]!, after: flipped }] } });
  assert.ok(second.changes, 'patched');
  assert.equal(second.content.identities, first.content.identities);
  assert.equal(second.changes.identities, false);
  const moved = pod('shop', 'web-03', '10.0.9.9', 'web');
  const s3: ClusterState = { ...s2, pods: s2.pods!.with(3, moved) };
  const third = translate({ state: s3, memory: second.memory, ports: second.ports, options: o, changes: { base: s2, services: new Set(), endpointSlices: [], pods: true, podChanges: [{ before: flipped, after: moved }] } });
  assert.ok(third.changes?.identities, 'the identity map changed');
  // A fresh pods array: built from nothing, not from the identity cache.
  assert.deepEqual(third.content, translate({ state: { ...s3, pods: [...s3.pods!] }, memory: emptyMemory(), ports: third.ports, options: o }).content);
});
