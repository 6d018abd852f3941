/**
 * The controller against the fake API server with the real client: published tables and shadow
 * Services follow the cluster; ports and routes survive a restart without a write; cut
 * watches, 410s, conflicts and API outages lose nothing and crash nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHostmeshError } from '../../src/common/errors.ts';
import type { ErrorCode } from '../../src/common/errors.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import { MANAGED_BY_LABEL, SHADOW_PORTS_ANNOTATION } from '../../src/controller/constants.ts';
import { createLogger } from '../../src/common/log.ts';
import { QUARANTINE_ANNOTATION, QUARANTINE_LEASE } from '../../src/controller/kube/quarantine-store.ts';
import { endpointSlice, service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { MESH, PROXY_SELECTOR, listenerPort, makeController, problems, shadowWrites, shadowsOf, startController } from './controller-harness.ts';
import type { Published } from './controller-harness.ts';

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function route(p: Published, id: string) {
  return p.content.routes.find((r) => r.id === id);
}

function dnsAddresses(p: Published, namespace: string, name: string): string[] | undefined {
  return p.content.dns.services.find((s) => s.namespace === namespace && s.name === name)?.addresses;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('Services and EndpointSlices drive the published table and the shadow Services', async (t) => {
  const fake = await startFakeApiServer(t);
  const longNs = 'team-payments-production-europe-west-1-with-a-long-namespace';
  const longName = 'checkout-service-with-a-really-long-name-for-the-v2-api-gateway';
  fake.create('services', service('shop', 'web'));
  fake.create('endpointslices', endpointSlice('shop', 'web', 'web-1', ['10.0.0.1']));
  fake.create('services', service(longNs, longName, { ports: [{ name: 'grpc', port: 9090, targetPort: 9090 }] }));
  // Not meshed: the mesh namespace itself and kube-system.
  fake.create('services', service(MESH, 'hostmesh-controller'));
  fake.create('services', service('kube-system', 'kube-dns'));
  const h = await startController(t, fake);

  const first = h.latest();
  assert.deepEqual(first.content.routes.map((r) => r.id).toSorted(), ['shop/web:80', `${longNs}/${longName}:9090`]);
  assert.deepEqual(first.content.clusters.find((c) => c.id === 'shop/web:80')?.endpoints.map((e) => `${e.address}:${e.port}`), ['10.0.0.1:8080']);

  // The shadows: short names, node-local, selecting the proxies, targeting the allocated port.
  const shadows = await waitFor('two shadows', () => { const s = shadowsOf(fake); return s.size === 2 ? s : undefined; });
  const withDns = await h.until('both names in mesh DNS', (p) => p.content.dns.services.length === 2);
  for (const [owner, shadow] of shadows) {
    assert.ok(shadow.metadata.name.length <= 63, shadow.metadata.name);
    assert.match(shadow.metadata.name, DNS1035);
    assert.equal(shadow.metadata.labels?.[MANAGED_BY_LABEL], 'hostmesh');
    assert.equal(shadow.spec?.internalTrafficPolicy, 'Local');
    assert.equal(shadow.spec?.type, 'ClusterIP');
    assert.deepEqual(shadow.spec?.selector, PROXY_SELECTOR);
    const [ns, name] = owner.split('/') as [string, string];
    for (const port of shadow.spec?.ports ?? []) {
      assert.equal(port.targetPort, listenerPort(withDns.content, `${owner}:${port.port}`), `${owner}:${port.port} targets its proxy port`);
    }
    assert.deepEqual(dnsAddresses(withDns, ns, name), [shadow.spec?.clusterIP], 'mesh DNS answers the shadow ClusterIP');
  }
  assert.equal(shadows.get('shop/web')!.metadata.name, 'web-shop');
  const webPort = listenerPort(withDns.content, 'shop/web:80');

  // Annotations change the route; the port stays.
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/retry-count': '2' } } });
  let p = await h.until('retry on web', (x) => route(x, 'shop/web:80')?.retry?.count === 2);
  assert.equal(listenerPort(p.content, 'shop/web:80'), webPort);

  // Endpoints follow the slices.
  fake.patch('endpointslices', 'web-1', 'shop', { endpoints: [
    { addresses: ['10.0.0.1'], conditions: { ready: true } }, { addresses: ['10.0.0.2'], conditions: { ready: true } },
  ] });
  await h.until('two endpoints', (x) => x.content.clusters.find((c) => c.id === 'shop/web:80')?.endpoints.length === 2);

  // A new port gets a listener and appears on the shadow; the old one keeps its proxy port.
  const web = fake.get<ServiceObject>('services', 'web', 'shop');
  web.spec!.ports = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'admin', port: 9000, targetPort: 9000, protocol: 'TCP' }];
  fake.update('services', web);
  p = await h.until('the admin port', (x) => listenerPort(x.content, 'shop/web:9000') !== undefined);
  assert.equal(listenerPort(p.content, 'shop/web:80'), webPort);
  const adminPort = listenerPort(p.content, 'shop/web:9000');
  const updated = await waitFor('the shadow updated', () => {
    const s = shadowsOf(fake).get('shop/web');
    return s?.spec?.ports?.length === 2 ? s : undefined;
  });
  assert.deepEqual(updated.spec!.ports!.map((x) => [x.port, x.targetPort]).toSorted(), [[80, webPort], [9000, adminPort]]);
  assert.equal(updated.spec!.clusterIP, shadows.get('shop/web')!.spec!.clusterIP, 'an update keeps the ClusterIP');
  assert.equal(JSON.parse(updated.metadata.annotations![SHADOW_PORTS_ANNOTATION]!)['9000/TCP'], adminPort);

  // Opting out removes the route and the shadow; deleting a Service does too.
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/mesh': 'false' } } });
  await h.until('web gone', (x) => route(x, 'shop/web:80') === undefined && x.content.dns.services.every((s) => s.name !== 'web'));
  await waitFor('the web shadow deleted', () => !shadowsOf(fake).has('shop/web'));
  fake.delete('services', longName, longNs);
  await h.until('everything gone', (x) => x.content.listeners.length === 0 && x.content.dns.services.length === 0);
  await waitFor('no shadows', () => shadowsOf(fake).size === 0);
  assert.ok(fake.get('services', 'hostmesh-controller', MESH), 'other Services in the mesh namespace are left alone');
  assert.deepEqual(problems(h.controller), []);
});

test('a restarted controller keeps every port and route and writes nothing when nothing changed', async (t) => {
  const fake = await startFakeApiServer(t);
  const a = await startController(t, fake);
  // Created one by one, so allocation order differs from the sorted order a fresh start would use.
  for (const name of ['zeta', 'mid', 'alpha']) {
    fake.create('services', service('shop', name, { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }] }));
    fake.create('endpointslices', endpointSlice('shop', name, `${name}-1`, ['10.1.0.1']));
    await a.until(`${name} routed`, (p) => route(p, `shop/${name}:80`) !== undefined);
  }
  fake.delete('services', 'mid', 'shop');
  await a.until('mid gone', (p) => route(p, 'shop/mid:80') === undefined);
  fake.create('services', service('other', 'api'));
  await a.until('settled', (p) => p.content.dns.services.length === 3);
  await waitFor('three shadows', () => shadowsOf(fake).size === 3);
  await a.stop();
  const before = a.latest();
  assert.deepEqual(before.content.listeners.map((l) => `${l.route}=${l.port}`), [
    // mid's ports (10002, 10003) are quarantined: the new Service gets fresh ones.
    'shop/zeta:53=10000', 'shop/zeta:80=10001', 'shop/alpha:53=10004', 'shop/alpha:80=10005', 'other/api:80=10006',
  ]);
  const writes = shadowWrites(fake);

  const b = await startController(t, fake);
  assert.deepEqual(b.published[0]!.content, before.content, 'the first table after a restart is the last one before it');
  assert.deepEqual(b.published[0]!.content.listeners, before.content.listeners);
  assert.deepEqual(b.published[0]!.content.routes, before.content.routes);
  // Something to wait for: once its shadow exists, the restarted controller has reconciled all.
  fake.create('services', service('shop', 'late'));
  await waitFor('the late shadow', () => shadowsOf(fake).has('shop/late'));
  const p = await b.until('late in DNS', (x) => dnsAddresses(x, 'shop', 'late') !== undefined);
  // The quarantine outlives the controller (a Lease in the mesh namespace): the restarted one
  // does not hand mid's freed ports to the new Service either.
  assert.equal(listenerPort(p.content, 'shop/late:80'), 10007, 'mid\'s freed ports stay quarantined across the restart');
  const kept = fake.get<{ metadata: { annotations?: Record<string, string> } }>('leases', QUARANTINE_LEASE, MESH);
  assert.deepEqual(Object.keys(JSON.parse(kept?.metadata.annotations?.[QUARANTINE_ANNOTATION] ?? '{}') as object), ['10002', '10003']);
  assert.deepEqual(shadowWrites(fake), { ...writes, create: writes.create + 1 }, 'one create for the new Service, nothing else');
  for (const l of before.content.listeners) assert.equal(listenerPort(p.content, l.route), l.port);
});

test('a cut watch and a 410 with changes made meanwhile: every change is published', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service('shop', 'web'));
  fake.create('services', service('shop', 'old'));
  const h = await startController(t, fake);
  await waitFor('two shadows', () => shadowsOf(fake).size === 2);
  // Services, EndpointSlices, Pods, HTTPRoutes, GRPCRoutes, ReferenceGrants, mesh-namespace Services.
  const WATCHES = 7;
  await waitFor('all watches open', () => fake.openWatches() === WATCHES);

  assert.equal(fake.cutWatches(), WATCHES);
  // Same tick as the cut: the client cannot have reconnected yet.
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/maintenance': 'upgrade' } } });
  fake.create('endpointslices', endpointSlice('shop', 'web', 'web-1', ['10.0.0.7']));
  await h.until('maintenance and the endpoint', (p) => route(p, 'shop/web:80')?.maintenance?.reason === 'upgrade'
    && p.content.clusters.find((c) => c.id === 'shop/web:80')?.endpoints[0]?.address === '10.0.0.7');

  // History compacted while the watches are down: they get 410 and relist.
  await waitFor('watches reopened', () => fake.openWatches() === WATCHES);
  const lists = fake.count('list');
  fake.cutWatches();
  // A write nobody watches, so every watch's version is older than the compaction.
  fake.create('configmaps', { metadata: { name: 'unrelated', namespace: 'default' } });
  fake.compact();
  fake.delete('services', 'old', 'shop');
  fake.create('services', service('shop', 'new'));
  const oldShadow = shadowsOf(fake).get('shop/web')!;
  // A shadow deleted by hand meanwhile comes back.
  fake.delete('services', oldShadow.metadata.name, MESH);
  await h.until('old gone, new routed', (p) => route(p, 'shop/old:80') === undefined && route(p, 'shop/new:80') !== undefined);
  await waitFor('shadows for web and new only', () => [...shadowsOf(fake).keys()].toSorted().join() === 'shop/new,shop/web');
  await waitFor('every informer relisted after the 410', () => fake.count('list') >= lists + WATCHES);
  const recreated = shadowsOf(fake).get('shop/web')!;
  const p = await h.until('web answers its new ClusterIP', (x) => dnsAddresses(x, 'shop', 'web')?.[0] === recreated.spec!.clusterIP);
  assert.equal(recreated.spec!.ports![0]!.targetPort, listenerPort(p.content, 'shop/web:80'), 'the recreated shadow keeps the proxy port');
});

test('a burst of changes makes few translations', async (t) => {
  const fake = await startFakeApiServer(t);
  const h = await startController(t, fake, { coalesceMs: 20 });
  const before = h.controller.translations;
  for (let i = 0; i < 50; i++) fake.create('services', service('burst', `svc-${i}`));
  await h.until('all 50 routed', (p) => p.content.routes.length === 50);
  const used = h.controller.translations - before;
  assert.ok(used <= 4, `50 creates took ${used} translations`);
  await waitFor('50 shadows', () => shadowsOf(fake).size === 50);
});

test('an EndpointSlice change after the shadows settled is a patched translation naming that cluster only', async (t) => {
  const fake = await startFakeApiServer(t);
  for (let i = 0; i < 20; i++) {
    fake.create('services', service('shop', `s${i}`));
    fake.create('endpointslices', endpointSlice('shop', `s${i}`, `s${i}-a`, [`10.0.0.${i + 1}`]));
  }
  const h = await startController(t, fake);
  await h.until('every name in mesh DNS', (p) => p.content.dns.services.length === 20);
  await sleep(100);
  const before = h.published.length;
  fake.patch('endpointslices', 's7-a', 'shop', { endpoints: [{ addresses: ['10.9.9.9'], conditions: { ready: true } }] });
  const moved = await h.until('the endpoint move', (p) => p.content.clusters.find((c) => c.id === 'shop/s7:80')?.endpoints[0]?.address === '10.9.9.9');
  assert.deepEqual(moved.patched, ['shop/s7:80']);
  assert.equal(h.published.length, before + 1, 'one publish');
  // A new Service changes the table's shape: a full translation.
  fake.create('services', service('shop', 'new'));
  const added = await h.until('the new route', (p) => route(p, 'shop/new:80') !== undefined);
  assert.equal(added.patched, undefined);
});

test('conflicts: a foreign Service holding a shadow name is reported, never written; a 409 on update is re-read', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service(MESH, 'web-shop'));
  fake.create('services', service('shop', 'web'));
  fake.create('services', service('shop', 'api'));
  const h = await startController(t, fake);
  await waitFor('the api shadow', () => shadowsOf(fake).has('shop/api'));
  const conflict = await waitFor('the conflict diagnostic', () => h.controller.diagnostics().find((d) => d.code === 'SHADOW_CONFLICT'));
  assert.deepEqual(conflict.object, { kind: 'Service', namespace: MESH, name: 'web-shop' });
  assert.match(conflict.message, /not a hostmesh shadow/);
  assert.equal(fake.requests.filter((r) => r.verb === 'create' && r.name === undefined && r.namespace === MESH).length, 1, 'only the api shadow was created');
  assert.equal(shadowWrites(fake).update, 0);
  assert.ok(route(h.latest(), 'shop/web:80'), 'web is still routed by the proxies');

  // Someone edits the shadow; the restore meets a 409 once, re-reads, and succeeds.
  const shadow = shadowsOf(fake).get('shop/api')!;
  fake.failNext('update', { resource: 'services', code: 409 });
  fake.patch('services', shadow.metadata.name, MESH, { spec: { selector: { app: 'someone-else' } } });
  await waitFor('the selector restored', () => JSON.stringify(fake.get<ServiceObject>('services', shadow.metadata.name, MESH).spec?.selector) === JSON.stringify(PROXY_SELECTOR));
  const updates = fake.requests.filter((r) => r.verb === 'update' && r.namespace === MESH).map((r) => r.code);
  assert.deepEqual(updates, [409, 200]);
  assert.equal(fake.count('get', 'services'), 1, 'the conflict was resolved by reading the object again');
});

test('the API server down at start: start() waits, retries, and publishes once it is back', async (t) => {
  const fake = await startFakeApiServer(t);
  let resolved = false;
  let start: Promise<void> | undefined;
  await fake.restart(async () => {
    const h = makeController(t, fake);
    start = h.controller.start().then(() => { resolved = true; });
    // Long enough for several refused connections; not a measurement.
    await sleep(150);
    assert.equal(resolved, false, 'nothing is published without a complete view');
    fake.create('services', service('shop', 'web'));
  });
  await start;
  assert.equal(resolved, true);
  await waitFor('the web shadow', () => shadowsOf(fake).has('shop/web'));
});

test('the API server down later: the last table stays, writes are retried, and everything recovers', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service('shop', 'web'));
  const h = await startController(t, fake);
  await h.until('web in DNS', (p) => dnsAddresses(p, 'shop', 'web') !== undefined);
  const count = h.published.length;
  await fake.restart(async () => {
    await sleep(150);
    assert.equal(h.published.length, count, 'no table is published while the API server is away');
    fake.create('services', service('shop', 'api'));
  });
  await h.until('api routed after the outage', (p) => route(p, 'shop/api:80') !== undefined);
  await waitFor('the api shadow', () => shadowsOf(fake).has('shop/api'));

  // RBAC refusing writes: logged, reported, retried with backoff; routing is not held back.
  fake.failNext('create', { resource: 'services', code: 403, times: 2 });
  fake.create('services', service('shop', 'db'));
  await h.until('db routed', (p) => route(p, 'shop/db:80') !== undefined);
  await waitFor('the db shadow', () => shadowsOf(fake).has('shop/db'));
  const creates = fake.requests.filter((r) => r.verb === 'create' && r.namespace === MESH).map((r) => r.code);
  assert.deepEqual(creates.slice(-3), [403, 403, 201]);
  await waitFor('the failure cleared', () => !h.controller.diagnostics().some((d) => d.code === 'SHADOW_WRITE_FAILED'));
});

test('options are checked at construction', async (t) => {
  const fake = await startFakeApiServer(t);
  const base = {
    kubeConfig: fake.kubeconfig(), meshNamespace: MESH, proxySelector: PROXY_SELECTOR, zones: ['hostmesh'], portRange: [10000, 10999] as const,
    patchDns: false, publish: () => {}, log: createLogger('test'),
  };
  const fails = (o: object, code: ErrorCode, pattern: RegExp): void => {
    assert.throws(() => new Controller({ ...base, ...o }), (e: unknown) => isHostmeshError(e, code) && pattern.test(e.message));
  };
  fails({ proxySelector: {} }, 'CONTROLLER_BAD_OPTION', /proxy selector is empty/);
  fails({ patchDns: true }, 'CONTROLLER_BAD_OPTION', /--dns-service/);
  fails({ meshNamespace: 'Mesh_NS' }, 'CONTROLLER_BAD_OPTION', /Mesh_NS/);
  fails({ zones: ['bad zone'] }, 'DNS_BAD_ZONE', /bad zone/);
  fails({ watchNamespaces: ['Bad_NS'] }, 'K8S_BAD_NAMESPACE', /Bad_NS/);
  const stopped = new Controller(base);
  const start = stopped.start();
  await stopped.stop();
  await assert.rejects(start, (e: unknown) => isHostmeshError(e, 'CONTROLLER_STOPPED'));
});
