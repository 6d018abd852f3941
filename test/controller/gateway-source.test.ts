/**
 * The Kubernetes source reads Pods and the Gateway API kinds (HTTPRoute, GRPCRoute,
 * ReferenceGrant) through the real client against the fake API server; without the Gateway
 * API CRDs it runs, says so once, and picks the kinds up when they are installed.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { KubernetesSource } from '../../src/controller/source/kubernetes.ts';
import { openSource } from './source-fixtures.ts';
import type { FakeApiServer, FakeApiServerOptions } from '../support/fake-apiserver.ts';
import { gatewayApiResources } from '../support/fake-apiserver-resources.ts';
import { gatewayRoute, names, pod, service, startFakeApiServer, waitFor } from '../support/kube.ts';

const GW = 'gateway.networking.k8s.io';

/** The source's diagnostics about Gateway API CRDs (the SMI CRDs are absent in these tests). */
const gatewayDiagnostics = (source: KubernetesSource) => source.diagnostics().filter((d) => d.object.name.endsWith(`.${GW}`));

const open = (t: TestContext, fakeOptions: FakeApiServerOptions, seed?: (fake: FakeApiServer) => void) => openSource(t, fakeOptions, { ignoreNamespaces: ['kube-system'] }, seed);

test('pods and the Gateway API kinds are read, changes followed, ignored namespaces left out', async (t) => {
  const h = await open(t, {}, (fake) => {
    fake.create('services', service('shop', 'web'));
    fake.create('pods', pod('shop', 'web-1', '10.1.0.5', 'web'));
    fake.create('pods', pod('kube-system', 'dns-1', '10.1.0.9'));
    fake.create(`httproutes.${GW}`, gatewayRoute('HTTPRoute', 'shop', 'web-route', 'web', [{ backendRefs: [{ name: 'web', port: 80 }] }]));
  });
  const first = await h.until('the first snapshot', () => true);
  assert.deepEqual(names(first.pods ?? []), ['shop/web-1']);
  assert.deepEqual(names(first.httpRoutes ?? []), ['shop/web-route']);
  assert.deepEqual(first.grpcRoutes, []);
  // The SMI CRDs are not installed here (smi-source.test.ts reads them).
  assert.deepEqual(gatewayDiagnostics(h.source), [], 'every Gateway API CRD is served');

  h.fake.create(`grpcroutes.${GW}`, gatewayRoute('GRPCRoute', 'shop', 'rpc', 'web', []));
  h.fake.create(`referencegrants.${GW}`, {
    apiVersion: `${GW}/v1beta1`, kind: 'ReferenceGrant', metadata: { name: 'from-front', namespace: 'shop' },
    spec: { from: [{ group: GW, kind: 'HTTPRoute', namespace: 'front' }], to: [{ group: '', kind: 'Service' }] },
  });
  h.fake.patch(`httproutes.${GW}`, 'web-route', 'shop', { spec: { rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 3 }] }] } });
  h.fake.delete('pods', 'web-1', 'shop');
  const s = await h.until('the changes', (x) => x.grpcRoutes?.length === 1 && x.referenceGrants?.length === 1 && x.pods?.length === 0 &&
    (x.httpRoutes?.[0]?.spec?.rules?.[0] as { backendRefs?: { weight?: number }[] } | undefined)?.backendRefs?.[0]?.weight === 3);
  assert.equal(s.httpRoutes![0]!.metadata.generation, 2, 'the spec change counted');
});

test('without the Gateway API CRDs the source runs, says so once, and picks the kinds up once installed', async (t) => {
  const h = await open(t, { gatewayApi: false }, (fake) => {
    fake.create('services', service('shop', 'web'));
  });
  const first = await h.until('the first snapshot', () => true);
  assert.deepEqual(names(first.services), ['shop/web']);
  assert.deepEqual(first.httpRoutes, []);
  const absent = gatewayDiagnostics(h.source);
  assert.deepEqual(absent.map((d) => `${d.severity} ${d.code} ${d.object.name}`), [
    `info crd-absent grpcroutes.${GW}`, `info crd-absent httproutes.${GW}`, `info crd-absent referencegrants.${GW}`,
  ]);
  assert.match(absent[1]!.message, /does not serve gateway\.networking\.k8s\.io\/v1 HTTPRoute \(its CRD is not installed\)/);
  // Discovery is asked again every 30 ms here; a few rounds must not repeat the log line.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const said = h.lines.filter((l) => /httproutes\.gateway\.networking\.k8s\.io is not installed/.test(l.msg));
  assert.equal(said.length, 1, 'said once');

  for (const def of gatewayApiResources()) h.fake.registerResource(def);
  h.fake.create(`httproutes.${GW}`, gatewayRoute('HTTPRoute', 'shop', 'web-route', 'web', []));
  const s = await h.until('the route after the CRDs appeared', (x) => x.httpRoutes?.length === 1);
  assert.deepEqual(names(s.httpRoutes!), ['shop/web-route']);
  // Each kind is looked for on its own schedule.
  await waitFor('every kind found', () => gatewayDiagnostics(h.source).length === 0);
  assert.ok(h.lines.some((l) => /httproutes\.gateway\.networking\.k8s\.io is now served/.test(l.msg)));
});

test('route status is a subresource: the real client replaces it, the spec and generation stay', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create(`httproutes.${GW}`, gatewayRoute('HTTPRoute', 'shop', 'r', 'web', []));
  const api = fake.kubeconfig().makeApiClient(CustomObjectsApi);
  const current = await api.getNamespacedCustomObject({ group: GW, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'r' }) as { metadata: { resourceVersion: string }; spec: unknown };
  const body = { ...current, spec: { rules: [{ name: 'ignored' }] }, status: { parents: [{ controllerName: 'x.io/y', parentRef: { name: 'web' }, conditions: [] }] } };
  await api.replaceNamespacedCustomObjectStatus({ group: GW, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'r', body });
  const after = fake.get<{ metadata: { generation: number }; spec: { rules: unknown[] }; status: { parents: unknown[] } }>(`httproutes.${GW}`, 'r', 'shop');
  assert.equal(after.status.parents.length, 1);
  assert.deepEqual(after.spec.rules, [], 'a status write leaves the spec alone');
  assert.equal(after.metadata.generation, 1);
  // A stale resourceVersion is refused (409), so two writers never overwrite each other blindly.
  await assert.rejects(api.replaceNamespacedCustomObjectStatus({ group: GW, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'r', body }), (e: unknown) => (e as { code?: number }).code === 409);
});
