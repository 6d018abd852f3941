/** Pods -> the identity map: running pods with their own addresses, each address once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIdentities } from '../../src/controller/translation/identities.ts';
import type { PodObject } from '../../src/controller/objects.ts';
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
