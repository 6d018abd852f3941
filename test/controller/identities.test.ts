/** Pods -> the identity map: running pods with their own addresses, each address once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildIdentities, patchIdentities } from '../../src/controller/translation/identities.ts';
import type { PodChange, PodObject } from '../../src/controller/objects.ts';
import { pod } from '../support/kube.ts';

test('running pods give address -> namespace, ServiceAccount (default "default") and pod, sorted by address', () => {
  const dual: PodObject = { ...pod('front', 'dual', '10.1.0.3', 'client'), status: { phase: 'Running', podIPs: [{ ip: '10.1.0.3' }, { ip: 'fd00::3' }] } };
  const old: PodObject = { metadata: { name: 'old', namespace: 'front' }, status: { phase: 'Running', podIP: '10.1.0.4' } };
  assert.deepEqual(buildIdentities([pod('shop', 'web-1', '10.1.0.9', 'web'), dual, old]), [
    { address: '10.1.0.3', namespace: 'front', serviceAccount: 'client', pod: 'front/dual' },
    { address: '10.1.0.4', namespace: 'front', serviceAccount: 'default', pod: 'front/old' },
    { address: '10.1.0.9', namespace: 'shop', serviceAccount: 'web', pod: 'shop/web-1' },
    { address: 'fd00::3', namespace: 'front', serviceAccount: 'client', pod: 'front/dual' },
  ]);
});

test('pending, finished and host-network pods, bad addresses and addresses two pods claim are left out', () => {
  const pending: PodObject = { metadata: { name: 'p', namespace: 'a' }, status: { phase: 'Pending', podIPs: [{ ip: '10.0.0.1' }] } };
  const done: PodObject = { metadata: { name: 'd', namespace: 'a' }, status: { phase: 'Succeeded', podIPs: [{ ip: '10.0.0.2' }] } };
  const host: PodObject = { ...pod('a', 'h', '192.168.1.10'), spec: { hostNetwork: true } };
  const garbage = { metadata: { name: 'g', namespace: 'a' }, status: { phase: 'Running', podIPs: [{ ip: 'not-an-ip' }, null, 7] } } as unknown as PodObject;
  const noName = { metadata: {}, status: { phase: 'Running', podIP: '10.0.0.5' } } as unknown as PodObject;
  const twice = [pod('a', 'x', '10.0.0.6'), pod('b', 'y', '10.0.0.6')];
  assert.deepEqual(buildIdentities([pending, done, host, garbage, noName, ...twice, null as unknown as PodObject]), []);
  assert.deepEqual(buildIdentities(undefined), []);
});

/** Pods with few names and addresses, so that edits collide: reused addresses, ambiguous ones, pods that stop running. */
const podArb: fc.Arbitrary<PodObject> = fc.record({
  name: fc.constantFrom('p0', 'p1', 'p2', 'p3', 'p4'),
  namespace: fc.constantFrom('a', 'b'),
  phase: fc.constantFrom('Running', 'Running', 'Running', 'Pending'),
  addresses: fc.uniqueArray(fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1'), { maxLength: 2 }),
  sa: fc.constantFrom('web', 'api', ''),
  label: fc.nat(3),
}).map((p) => ({
  metadata: { name: p.name, namespace: p.namespace, labels: { v: String(p.label) } },
  spec: { serviceAccountName: p.sa, ...(p.label === 3 ? { hostNetwork: true } : {}) },
  status: { phase: p.phase, podIPs: p.addresses.map((ip) => ({ ip })) },
}) as PodObject);

const key = (p: PodObject): string => `${p.metadata.namespace}/${p.metadata.name}`;
const sorted = (pods: PodObject[]): PodObject[] => pods.toSorted((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));

/** One step: pods put (added or replaced, by key) or removed, as a source's hint gives them. */
function step(pods: readonly PodObject[], edits: readonly { put?: PodObject; remove?: number }[]): { next: PodObject[]; changes: PodChange[] } {
  let next = [...pods];
  const changes: PodChange[] = [];
  for (const e of edits) {
    if (e.put !== undefined) {
      const before = next.find((p) => key(p) === key(e.put!));
      next = sorted([...next.filter((p) => p !== before), e.put]);
      changes.push({ ...(before ? { before } : {}), after: e.put });
    } else if (next.length > 0) {
      const before = next[e.remove! % next.length]!;
      next = next.filter((p) => p !== before);
      changes.push({ before });
    }
  }
  return { next, changes };
}

const editArb = fc.oneof(fc.record({ put: podArb }), fc.record({ remove: fc.nat() }));

test('property: the identity map patched with pod changes equals the one built from the pods', () => {
  fc.assert(fc.property(fc.uniqueArray(podArb, { selector: key, maxLength: 8 }), fc.array(fc.array(editArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }), (first, steps) => {
    let pods = sorted(first);
    buildIdentities(pods);
    for (const edits of steps) {
      const { next, changes } = step(pods, edits);
      const patched = patchIdentities(pods, next, changes);
      // A fresh array: built from nothing, not from the cache.
      assert.deepEqual(patched, buildIdentities([...next]));
      pods = next;
    }
  }), { numRuns: 500 });
});

test('a pod change that moves no address (a new label, a readiness flip) leaves the identity map the same array', () => {
  const pods = sorted(Array.from({ length: 1000 }, (_, i) => pod('shop', `web-${i}`, `10.1.${i >> 8}.${i & 255}`, 'web')));
  const before = buildIdentities(pods);
  const flipped: PodObject = { ...pods[10]!, metadata: { ...pods[10]!.metadata, labels: { ready: 'false' } } };
  const next = pods.with(10, flipped);
  assert.equal(patchIdentities(pods, next, [{ before: pods[10]!, after: flipped }]), before);
  // A pod that stops running leaves the map; the rest are the same entry objects.
  const stopped: PodObject = { ...pods[20]!, status: { ...pods[20]!.status, phase: 'Failed' } };
  const after = patchIdentities(next, next.with(20, stopped), [{ before: next[20]!, after: stopped }]);
  assert.equal(after.length, 999);
  assert.equal(after.filter((e) => before.includes(e)).length, 999);
});
