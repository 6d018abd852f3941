/**
 * `cleanup()` against the fake API server: the DNS patch removed byte for byte, every shadow
 * deleted and nothing else, idempotent, and problems reported rather than thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/common/log.ts';
import { cleanup } from '../../src/controller/cleanup.ts';
import type { CleanupOptions } from '../../src/controller/cleanup.ts';
import { MANAGED_BY_LABEL } from '../../src/controller/constants.ts';
import { DNS_CONFIG_ANNOTATION } from '../../src/controller/dns/plan.ts';
import type { ConfigMapObject, DeploymentObject } from '../../src/controller/dns/types.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { names, service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { MESH, dnsFixture, seedDns, shadowsOf, startController } from './controller-harness.ts';

function run(fake: FakeApiServer, extra: Partial<CleanupOptions> = {}) {
  return cleanup({
    kubeConfig: fake.kubeconfig(), meshNamespace: MESH, dnsService: 'hostmesh-dns', zones: ['hostmesh'], log: createLogger('cleanup-test'),
    backoff: { minMs: 5, maxMs: 20 }, ...extra,
  });
}

function configMap(fake: FakeApiServer, name: string): ConfigMapObject | undefined {
  return fake.list<ConfigMapObject>('configmaps', 'kube-system').find((c) => c.metadata.name === name);
}

function fixtureCorefile(name: string): string {
  return (dnsFixture(name).find((o) => o.metadata.name === 'coredns' && o.kind === 'ConfigMap') as unknown as ConfigMapObject).data!.Corefile!;
}

/** A controller that patched DNS and made shadows for two Services, then stopped. */
async function installed(t: Parameters<typeof startController>[0], fixture: string): Promise<FakeApiServer> {
  const fake = await startFakeApiServer(t);
  seedDns(fake, fixture);
  fake.create('services', service(MESH, 'hostmesh-dns', { ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] }));
  fake.create('services', service('shop', 'web'));
  fake.create('services', service('team-a', 'checkout-api'));
  const h = await startController(t, fake, { patchDns: true, dnsService: 'hostmesh-dns' });
  await waitFor('two shadows', () => shadowsOf(fake).size === 2);
  await waitFor('DNS patched', () => JSON.stringify(fake.list('configmaps', 'kube-system')).includes('# hostmesh begin'));
  await h.stop();
  return fake;
}

test('kubeadm: the Corefile comes back byte for byte, shadows go, other Services stay; a second run does nothing', async (t) => {
  const fake = await installed(t, 'kubeadm');
  // Labelled like a shadow but not one (no shadow-of annotation): never deleted.
  fake.create('services', service(MESH, 'hostmesh-extra', { labels: { [MANAGED_BY_LABEL]: 'hostmesh' } }));
  const shadowNames = [...shadowsOf(fake).values()].map((s) => `${MESH}/${s.metadata.name}`).toSorted();

  const report = await run(fake);
  assert.equal(configMap(fake, 'coredns')!.data!.Corefile, fixtureCorefile('kubeadm'));
  assert.deepEqual(report.dns.writes, ['update ConfigMap kube-system/coredns']);
  assert.equal(report.dns.strategy, 'corefile');
  assert.equal(report.dns.restarted, undefined, 'reload picks the removal up');
  assert.deepEqual(report.deletedShadows.toSorted(), shadowNames);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(names(fake.list('services', MESH)), [`${MESH}/hostmesh-dns`, `${MESH}/hostmesh-extra`]);
  assert.equal(fake.list('services', 'shop').length, 1, 'the meshed Services themselves are untouched');

  const before = fake.requests.length;
  const again = await run(fake);
  assert.deepEqual(again, { dns: { strategy: 'corefile', writes: [], notes: [] }, deletedShadows: [], errors: [] });
  assert.deepEqual(fake.requests.slice(before).map((r) => r.verb).toSorted(), ['list', 'list', 'list'], 'only reads');
});

test('k3s: hostmesh.server removed from coredns-custom and CoreDNS restarted', async (t) => {
  const fake = await installed(t, 'k3s');
  const restartedFor = fake.get<DeploymentObject>('deployments', 'coredns', 'kube-system').spec?.template?.metadata?.annotations?.[DNS_CONFIG_ANNOTATION];
  const report = await run(fake);
  assert.deepEqual(configMap(fake, 'coredns-custom')!.data ?? {}, {});
  assert.equal(configMap(fake, 'coredns')!.data!.Corefile, fixtureCorefile('k3s'));
  assert.equal(report.dns.restarted, 'Deployment kube-system/coredns');
  const now = fake.get<DeploymentObject>('deployments', 'coredns', 'kube-system').spec?.template?.metadata?.annotations?.[DNS_CONFIG_ANNOTATION];
  assert.notEqual(now, restartedFor, 'a new rollout, so CoreDNS forgets the imported block');
  assert.equal(shadowsOf(fake).size, 0);
  assert.deepEqual((await run(fake)).dns.writes, []);
});

test('problems are reported, the other step still runs; transient failures are retried', async (t) => {
  const fake = await installed(t, 'kubeadm');
  // Unbalanced markers: the patch cannot be removed safely.
  const cm = configMap(fake, 'coredns')!;
  fake.update('configmaps', { ...cm, metadata: { ...cm.metadata, resourceVersion: undefined }, data: { Corefile: `${fixtureCorefile('kubeadm')}# hostmesh begin\n` } });
  fake.failNext('delete', { resource: 'services', code: 503 });
  const report = await run(fake);
  assert.equal(report.errors.length, 1);
  assert.match(report.errors[0]!, /^DNS patch not removed: .*"# hostmesh begin" without "# hostmesh end"/);
  assert.equal(report.deletedShadows.length, 2);
  assert.deepEqual(fake.requests.filter((r) => r.verb === 'delete').map((r) => r.code), [503, 200, 200]);

  const refused = await startFakeApiServer(t);
  refused.failNext('list', { code: 403, times: 10 });
  const denied = await run(refused);
  assert.equal(denied.errors.length, 2);
  assert.match(denied.errors[0]!, /list Deployments in namespace kube-system failed: HTTP 403|list ConfigMaps in namespace kube-system failed: HTTP 403/);
  assert.match(denied.errors[1]!, /shadow Services not deleted: list Services in namespace hostmesh failed: HTTP 403/);
  assert.equal(refused.count('list'), 3, 'a 403 is not retried');
});

test('a cluster without DNS or shadows: nothing to do, no error', async (t) => {
  const fake = await startFakeApiServer(t);
  const report = await run(fake);
  assert.deepEqual(report, { dns: { strategy: undefined, writes: [], notes: ['no CoreDNS Corefile and no kube-dns found: nothing to remove'] }, deletedShadows: [], errors: [] });
});
