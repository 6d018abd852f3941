/**
 * Route status through the real controller and the real Kubernetes client against the fake
 * API server: hostmesh's entries under its controllerName, other controllers' entries kept,
 * observedGeneration followed, and nothing written when nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { GatewayRouteObject, RouteParentStatus } from '../../src/controller/objects.ts';
import { CONTROLLER_NAME } from '../../src/controller/translation/gateway/index.ts';
import { plannedParents } from '../../src/controller/kube/route-status.ts';
import { gatewayRoute, service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { startController } from './controller-harness.ts';

const ROUTES = 'httproutes.gateway.networking.k8s.io';
const OTHER: RouteParentStatus = {
  parentRef: { group: '', kind: 'Service', name: 'web' }, controllerName: 'istio.io/gateway-controller',
  conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', lastTransitionTime: '2026-01-01T00:00:00Z' }],
};

const mine = (r: GatewayRouteObject) => (r.status?.parents ?? []).filter((p) => p.controllerName === CONTROLLER_NAME);
const conditions = (p: RouteParentStatus | undefined) => Object.fromEntries((p?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason} g${c.observedGeneration}`]));
const statusWrites = (fake: { requests: { verb: string; resource: string; }[] }) => fake.requests.filter((r) => r.verb === 'update' && r.resource === ROUTES).length;

test('the controller writes Accepted and ResolvedRefs for its parents, keeps other controllers\' entries, follows generations and does not write again for nothing', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service('shop', 'web'));
  fake.create('services', service('shop', 'web-v2'));
  const route = fake.create(ROUTES, gatewayRoute('HTTPRoute', 'shop', 'canary', 'web', [{ backendRefs: [{ name: 'web-v2', port: 80 }] }]));
  // Another mesh's entry, written through the status subresource as it would.
  await fake.kubeconfig().makeApiClient(CustomObjectsApi).replaceNamespacedCustomObjectStatus({
    group: 'gateway.networking.k8s.io', version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'canary', body: { ...route, status: { parents: [OTHER] } },
  });
  await startController(t, fake);

  let r = await waitFor('hostmesh\'s status entry', () => {
    const x = fake.get<GatewayRouteObject>(ROUTES, 'canary', 'shop');
    return mine(x).length === 1 ? x : undefined;
  });
  assert.deepEqual(conditions(mine(r)[0]), { Accepted: 'True Accepted g1', ResolvedRefs: 'True ResolvedRefs g1' });
  assert.deepEqual(r.status!.parents!.find((p) => p.controllerName !== CONTROLLER_NAME), OTHER, 'the other controller\'s entry is kept as it was');
  assert.deepEqual(mine(r)[0]!.parentRef, { group: '', kind: 'Service', name: 'web' });

  // Settled: more translations (an unrelated change) write nothing.
  const writes = statusWrites(fake);
  fake.create('services', service('shop', 'unrelated'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(statusWrites(fake), writes, 'no write when nothing changed');

  // A spec change (a backend that does not exist): generation 2, ResolvedRefs False.
  fake.patch(ROUTES, 'canary', 'shop', { spec: { rules: [{ backendRefs: [{ name: 'nowhere', port: 80 }] }] } });
  r = await waitFor('the new status', () => {
    const x = fake.get<GatewayRouteObject>(ROUTES, 'canary', 'shop');
    return conditions(mine(x)[0]).ResolvedRefs === 'False BackendNotFound g2' ? x : undefined;
  });
  assert.equal(conditions(mine(r)[0]).Accepted, 'True Accepted g2');
  assert.ok(r.status!.parents!.some((p) => p.controllerName === OTHER.controllerName));

  // The route stops naming the Service: hostmesh's entry goes, the other stays.
  fake.patch(ROUTES, 'canary', 'shop', { spec: { parentRefs: [{ name: 'some-gateway' }] } });
  r = await waitFor('hostmesh\'s entry removed', () => {
    const x = fake.get<GatewayRouteObject>(ROUTES, 'canary', 'shop');
    return mine(x).length === 0 ? x : undefined;
  });
  assert.deepEqual(r.status!.parents, [OTHER]);
});

test('plannedParents keeps lastTransitionTime while a condition holds and plans nothing when nothing changed', () => {
  const route: GatewayRouteObject = { metadata: { name: 'r', namespace: 'shop', generation: 4 }, spec: {} };
  const report = {
    kind: 'HTTPRoute' as const, namespace: 'shop', name: 'r', generation: 4,
    parents: [{ parentRef: { group: '', kind: 'Service', name: 'web' }, conditions: [{ type: 'Accepted' as const, status: 'True' as const, reason: 'Accepted', message: 'ok' }] }],
  };
  const first = plannedParents(route, report, '2026-12-06T10:00:00Z')!;
  assert.equal(first[0]!.conditions![0]!.lastTransitionTime, '2026-12-06T10:00:00Z');
  const written = { ...route, status: { parents: first } };
  assert.equal(plannedParents(written, report, '2026-12-06T11:00:00Z'), undefined, 'same conditions: nothing to write');
  const changed = plannedParents(written, { ...report, parents: [{ ...report.parents[0]!, conditions: [{ ...report.parents[0]!.conditions[0]!, message: 'new words' }] }] }, '2026-12-06T12:00:00Z')!;
  assert.equal(changed[0]!.conditions![0]!.lastTransitionTime, '2026-12-06T10:00:00Z', 'same status: the transition time stays');
  assert.deepEqual(plannedParents(written, undefined, 'x'), [], 'no longer a parent of hostmesh\'s: its entry goes');
});
