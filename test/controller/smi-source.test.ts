/**
 * The Kubernetes source reads the SMI kinds through the real client against the fake API
 * server: each in the newest version hostmesh reads that the CRD serves, all into `smi`;
 * absent CRDs are notes (an error for TrafficTarget in ACL mode) and are picked up once
 * installed.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { KubernetesSource } from '../../src/controller/source/kubernetes.ts';
import type { ClusterState, CustomObject } from '../../src/controller/objects.ts';
import { openSource } from './source-fixtures.ts';
import type { FakeApiServerOptions } from '../support/fake-apiserver.ts';
import { smiResources } from '../support/fake-apiserver-resources.ts';
import { waitFor } from '../support/kube.ts';

const open = (t: TestContext, fakeOptions: FakeApiServerOptions, acl = false) => openSource(t, { gatewayApi: false, ...fakeOptions }, { acl });

const smiIn = (s: ClusterState): string[] => (s.smi ?? []).map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);
const smiDiagnostics = (source: KubernetesSource): string[] => source.diagnostics()
  .filter((d) => d.object.name.includes('smi-spec.io')).map((d) => `${d.severity} ${d.code} ${d.object.name}`);

function split(apiVersion: string, name: string, weights: [string, number][]): CustomObject {
  return {
    apiVersion, kind: 'TrafficSplit', metadata: { name, namespace: 'shop' },
    spec: { service: 'web', backends: weights.map(([service, weight]) => ({ service, weight })) },
  };
}

test('each SMI kind is read in the newest version the CRD serves and hostmesh reads; absent kinds are notes', async (t) => {
  // TrafficSplit served in v1alpha1-v1alpha3 (read: v1alpha3), TrafficTarget in v1alpha1-v1alpha2
  // (read: v1alpha2), HTTPRouteGroup only in v1alpha4, and no TCPRoute or UDPRoute CRD.
  const h = await open(t, { smi: { TrafficSplit: ['v1alpha1', 'v1alpha2', 'v1alpha3'], TrafficTarget: ['v1alpha1', 'v1alpha2'], HTTPRouteGroup: ['v1alpha4'], TCPRoute: [], UDPRoute: [] } });
  const TS = 'trafficsplits.split.smi-spec.io';
  h.fake.create(TS, split('split.smi-spec.io/v1alpha3', 'canary', [['web-v1', 80], ['web-v2', 20]]));
  // The fake keeps each version apart: an object only in a version not read never shows up.
  h.fake.create(TS, split('split.smi-spec.io/v1alpha1', 'old-only', [['web-v1', 1]]));
  h.fake.create('httproutegroups.specs.smi-spec.io', { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'routes', namespace: 'shop' }, spec: { matches: [{ name: 'api', pathRegex: '/api' }] } });
  h.fake.create('traffictargets.access.smi-spec.io', {
    apiVersion: 'access.smi-spec.io/v1alpha2', kind: 'TrafficTarget', metadata: { name: 'allow', namespace: 'shop' },
    spec: { destination: { kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, rules: [{ kind: 'HTTPRouteGroup', name: 'routes' }], sources: [{ kind: 'ServiceAccount', name: 'client', namespace: 'shop' }] },
  });
  const s = await h.until('the three SMI objects', (x) => x.smi?.length === 3);
  // Sorted by namespace/name, whatever the kind.
  assert.deepEqual(smiIn(s), [
    'access.smi-spec.io/v1alpha2 TrafficTarget shop/allow',
    'split.smi-spec.io/v1alpha3 TrafficSplit shop/canary',
    'specs.smi-spec.io/v1alpha4 HTTPRouteGroup shop/routes',
  ]);
  // One list per kind served (in one version), none for the absent ones.
  const listed = h.fake.requests.filter((r) => r.verb === 'list' && r.resource.includes('smi-spec.io')).map((r) => r.resource).toSorted();
  assert.deepEqual(listed, ['httproutegroups.specs.smi-spec.io', 'trafficsplits.split.smi-spec.io', 'traffictargets.access.smi-spec.io']);
  assert.deepEqual(smiDiagnostics(h.source), ['info crd-absent tcproutes.specs.smi-spec.io', 'info crd-absent udproutes.specs.smi-spec.io']);
  assert.match(h.source.diagnostics().find((d) => d.object.name === 'tcproutes.specs.smi-spec.io')!.message,
    /does not serve specs\.smi-spec\.io \(in any of v1alpha4, v1alpha3, v1alpha2, v1alpha1\) TCPRoute/);
  assert.ok(h.lines.some((l) => /reading TrafficSplit objects \(split\.smi-spec\.io\/v1alpha3\)/.test(l.msg)), 'the version chosen is logged');

  // Changes are followed: new weights, a deletion.
  h.fake.update(TS, split('split.smi-spec.io/v1alpha3', 'canary', [['web-v1', 0], ['web-v2', 100]]));
  h.fake.delete('traffictargets.access.smi-spec.io/v1alpha2', 'allow', 'shop');
  const after = await h.until('the new weights and the deletion', (x) => x.smi?.length === 2
    && (x.smi.find((o) => o.kind === 'TrafficSplit')?.spec as { backends?: { weight: number }[] } | undefined)?.backends?.[0]?.weight === 0);
  assert.deepEqual(smiIn(after), ['split.smi-spec.io/v1alpha3 TrafficSplit shop/canary', 'specs.smi-spec.io/v1alpha4 HTTPRouteGroup shop/routes']);
});

test('no SMI CRD at start: notes (TrafficTarget an error in ACL mode); a CRD installed later is read', async (t) => {
  const h = await open(t, {}, true);
  assert.deepEqual(smiDiagnostics(h.source), [
    'info crd-absent httproutegroups.specs.smi-spec.io',
    'info crd-absent tcproutes.specs.smi-spec.io',
    'info crd-absent trafficsplits.split.smi-spec.io',
    'error crd-absent traffictargets.access.smi-spec.io',
    'info crd-absent udproutes.specs.smi-spec.io',
  ]);
  assert.match(h.source.diagnostics().find((d) => d.severity === 'error')!.message, /ACL mode \(--acl\) denies every request until TrafficTargets can be read/);
  assert.ok(h.lines.some((l) => l.level === 40 && /traffictargets\.access\.smi-spec\.io is not installed.*ACL mode/.test(l.msg)));

  // The TrafficTarget CRD appears, serving v1alpha1 to v1alpha3.
  for (const def of smiResources({ TrafficSplit: [], HTTPRouteGroup: [], TCPRoute: [], UDPRoute: [] })) h.fake.registerResource(def);
  h.fake.create('traffictargets.access.smi-spec.io', {
    apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 'allow', namespace: 'shop' },
    spec: { destination: { kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, rules: [], sources: [{ kind: 'ServiceAccount', name: 'client', namespace: 'shop' }] },
  });
  const s = await h.until('the TrafficTarget', (x) => x.smi?.length === 1);
  assert.deepEqual(smiIn(s), ['access.smi-spec.io/v1alpha3 TrafficTarget shop/allow']);
  await waitFor('the error gone', () => !smiDiagnostics(h.source).some((d) => d.includes('traffictargets')));
  assert.ok(h.lines.some((l) => /traffictargets\.access\.smi-spec\.io is now served/.test(l.msg)));
});

test('a version no longer served: the kind is read again in the newest one left; the CRD deleted: its objects are dropped', async (t) => {
  const h = await open(t, { smi: { TrafficTarget: ['v1alpha2', 'v1alpha3'], TrafficSplit: [], HTTPRouteGroup: [], TCPRoute: [], UDPRoute: [] } });
  const TT = 'traffictargets.access.smi-spec.io';
  const target = (version: string, name: string): CustomObject => ({
    apiVersion: `access.smi-spec.io/${version}`, kind: 'TrafficTarget', metadata: { name, namespace: 'shop' },
    spec: { destination: { kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, rules: [], sources: [{ kind: 'ServiceAccount', name: 'client', namespace: 'shop' }] },
  });
  // The fake keeps one store per version: each version holds a different object here.
  h.fake.create(TT, target('v1alpha3', 'newer'));
  h.fake.create(TT, target('v1alpha2', 'older'));
  await h.until('the v1alpha3 object', (x) => smiIn(x).join() === 'access.smi-spec.io/v1alpha3 TrafficTarget shop/newer');

  h.fake.unregisterResource('access.smi-spec.io', 'v1alpha3', 'traffictargets');
  await h.until('the v1alpha2 object instead', (x) => smiIn(x).join() === 'access.smi-spec.io/v1alpha2 TrafficTarget shop/older');
  assert.ok(h.lines.some((l) => /traffictargets\.access\.smi-spec\.io is no longer served in v1alpha3; reading TrafficTarget objects \(access\.smi-spec\.io\/v1alpha2\)/.test(l.msg)));

  h.fake.unregisterResource('access.smi-spec.io', 'v1alpha2', 'traffictargets');
  await h.until('no SMI object', (x) => x.smi?.length === 0);
  await waitFor('the crd-absent note', () => smiDiagnostics(h.source).includes('info crd-absent traffictargets.access.smi-spec.io'));
  assert.ok(h.lines.some((l) => /traffictargets\.access\.smi-spec\.io is no longer served; TrafficTarget objects are dropped/.test(l.msg)));
});
