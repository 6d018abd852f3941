/**
 * The DNS patch applied by the controller (`patchDns`) to the fake API server: kubeadm-shaped
 * CoreDNS patched in place and repaired after an overwrite, k3s-shaped through coredns-custom,
 * a Corefile without `reload` restarted once, and problems reported as diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { patchCorefile } from '../../src/controller/dns/corefile.ts';
import { renderCustomServer } from '../../src/controller/dns/coredns-custom.ts';
import { DNS_CONFIG_ANNOTATION } from '../../src/controller/dns/plan.ts';
import type { ConfigMapObject, DeploymentObject } from '../../src/controller/dns/types.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { MESH, dnsFixture, problems, seedDns, startController } from './controller-harness.ts';

const DNS_SERVICE = 'hostmesh-dns';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The proxies' DNS Service, as the chart makes it; returns its ClusterIP. */
function createDnsService(fake: FakeApiServer): string {
  const svc = fake.create('services', service(MESH, DNS_SERVICE, {
    ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, targetPort: 5353, protocol: 'TCP' }],
  }));
  return svc.spec!.clusterIP!;
}

function configMap(fake: FakeApiServer, name: string): ConfigMapObject | undefined {
  return fake.list<ConfigMapObject>('configmaps', 'kube-system').find((c) => c.metadata.name === name);
}

function corefile(fake: FakeApiServer): string | undefined {
  return configMap(fake, 'coredns')?.data?.Corefile;
}

function fixtureCorefile(name: string): string {
  const cm = dnsFixture(name).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'coredns') as unknown as ConfigMapObject;
  return cm.data!.Corefile!;
}

function restartAnnotation(fake: FakeApiServer): string | undefined {
  return fake.get<DeploymentObject>('deployments', 'coredns', 'kube-system').spec?.template?.metadata?.annotations?.[DNS_CONFIG_ANNOTATION];
}

function writes(fake: FakeApiServer, verb: 'create' | 'update' | 'patch', resource: string): (number | undefined)[] {
  return fake.requests.filter((r) => r.verb === verb && r.resource === resource).map((r) => r.code);
}

const dnsOptions = { patchDns: true, dnsService: DNS_SERVICE, resyncMs: 25 };

test('kubeadm: the block goes into the Corefile, is repaired after an overwrite, and nothing else is written', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'kubeadm');
  const ip = createDnsService(fake);
  const original = fixtureCorefile('kubeadm');
  const patched = patchCorefile(original, { addresses: [ip], zones: ['hostmesh', 'traefik.mesh'] }).text;
  assert.notEqual(patched, original);
  const h = await startController(t, fake, { ...dnsOptions, zones: ['hostmesh', 'traefik.mesh'] });

  await waitFor('the Corefile patched', () => corefile(fake) === patched);
  assert.deepEqual(writes(fake, 'update', 'configmaps'), [200]);
  assert.equal(restartAnnotation(fake), undefined, 'the Corefile has reload: no restart');

  // The add-on manager puts its own Corefile back.
  const cm = configMap(fake, 'coredns')!;
  fake.update('configmaps', { ...cm, metadata: { ...cm.metadata, resourceVersion: undefined }, data: { Corefile: original } });
  await waitFor('the Corefile repaired', () => corefile(fake) === patched);
  // Several resyncs later: idempotent.
  await sleep(200);
  assert.deepEqual(writes(fake, 'update', 'configmaps'), [200, 200]);
  assert.deepEqual(writes(fake, 'create', 'configmaps'), []);
  assert.deepEqual(writes(fake, 'patch', 'deployments.apps'), []);
  assert.deepEqual(problems(h.controller), []);
});

test('k3s: hostmesh.server in coredns-custom, CoreDNS restarted once; a rewritten coredns ConfigMap changes nothing', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'k3s');
  const ip = createDnsService(fake);
  const original = fixtureCorefile('k3s');
  await startController(t, fake, dnsOptions);

  const custom = await waitFor('coredns-custom', () => configMap(fake, 'coredns-custom'));
  assert.deepEqual(custom.data, { 'hostmesh.server': renderCustomServer({ addresses: [ip], zones: ['hostmesh'] }, 53) });
  await waitFor('the restart annotation', () => restartAnnotation(fake));
  assert.equal(corefile(fake), original, 'k3s\'s own ConfigMap is not edited');

  // k3s restarts and rewrites its ConfigMap; someone deletes coredns-custom.
  const cm = configMap(fake, 'coredns')!;
  fake.update('configmaps', { ...cm, metadata: { ...cm.metadata, resourceVersion: undefined, labels: { rewritten: 'yes' } } });
  fake.delete('configmaps', 'coredns-custom', 'kube-system');
  await waitFor('coredns-custom back', () => configMap(fake, 'coredns-custom')?.data?.['hostmesh.server'] !== undefined);
  await sleep(150);
  assert.deepEqual(writes(fake, 'create', 'configmaps'), [201, 201]);
  assert.deepEqual(writes(fake, 'update', 'configmaps'), []);
  assert.deepEqual(writes(fake, 'patch', 'deployments.apps'), [200], 'one restart per configuration');
});

test('no reload plugin: the Deployment gets the restart annotation once', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'custom-blocks-no-reload');
  const ip = createDnsService(fake);
  await startController(t, fake, dnsOptions);
  await waitFor('the Corefile patched', () => corefile(fake)?.includes(`forward . ${ip}`));
  const digest = await waitFor('the restart annotation', () => restartAnnotation(fake));
  assert.match(digest, /^[0-9a-f]{16}$/);
  await sleep(150);
  assert.deepEqual(writes(fake, 'patch', 'deployments.apps'), [200]);
  assert.deepEqual(writes(fake, 'update', 'configmaps'), [200]);
});

test('no cluster DNS, no DNS Service, an API refusal: status diagnostics, tables still published, repaired once possible', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service('shop', 'web'));
  const h = await startController(t, fake, dnsOptions);
  assert.equal(h.latest().content.routes.length, 1, 'routing does not wait for DNS');
  let d = await waitFor('DNS_SERVICE_MISSING', () => h.controller.diagnostics().find((x) => x.code === 'DNS_SERVICE_MISSING'));
  assert.deepEqual(d.object, { kind: 'Service', namespace: MESH, name: DNS_SERVICE });

  const ip = createDnsService(fake);
  d = await waitFor('DNS_NOT_FOUND', () => h.controller.diagnostics().find((x) => x.code === 'DNS_NOT_FOUND'));
  assert.equal(d.severity, 'error');
  assert.match(d.message, /no CoreDNS Corefile and no kube-dns/);

  fake.failNext('update', { resource: 'configmaps', code: 403, times: 2 });
  seedDns(fake, 'kubeadm');
  d = await waitFor('DNS_APPLY_FAILED', () => h.controller.diagnostics().find((x) => x.code === 'DNS_APPLY_FAILED'));
  assert.deepEqual(d.object, { kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' });
  assert.match(d.message, /update ConfigMap kube-system\/coredns failed: HTTP 403/);
  await waitFor('the Corefile patched', () => corefile(fake)?.includes(`forward . ${ip}`));
  assert.deepEqual(writes(fake, 'update', 'configmaps'), [403, 403, 200]);
  await waitFor('diagnostics cleared', () => problems(h.controller).length === 0);

  // A hand-made block for the mesh zone: reported, not doubled.
  const cm = configMap(fake, 'coredns')!;
  fake.update('configmaps', { ...cm, metadata: { ...cm.metadata, resourceVersion: undefined }, data: { Corefile: `${fixtureCorefile('kubeadm')}hostmesh:53 {\n    forward . 10.9.9.9\n}\n` } });
  d = await waitFor('DNS_ZONE_CONFLICT', () => h.controller.diagnostics().find((x) => x.code === 'DNS_ZONE_CONFLICT'));
  assert.deepEqual(d.object, { kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' });
  assert.deepEqual(writes(fake, 'update', 'configmaps'), [403, 403, 200]);
});
