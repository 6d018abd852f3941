/**
 * The fake API server, exercised with the real @kubernetes/client-node 2 client (CRUD, informers)
 * and with raw HTTP where the wire format itself is the point (watch lines, 410, bookmarks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiException, AppsV1Api, CoreV1Api, DiscoveryV1Api, EventsV1Api, PatchStrategy, makeInformer, setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubernetesObject, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { endpointSlice, names, service, startFakeApiServer, waitFor } from './support/kube.ts';
import { rawWatch } from './support/kube-watch.ts';

function apiError(e: unknown): { code: number; reason: string | undefined; message: string | undefined } {
  assert.ok(e instanceof ApiException, `expected an ApiException, got ${String(e)}`);
  // client-node leaves the body out for some codes (401, for one).
  const body = ((typeof e.body === 'string' ? JSON.parse(e.body) : e.body) ?? {}) as { reason?: string; message?: string };
  return { code: e.code, reason: body.reason, message: body.message };
}

async function rejects(p: Promise<unknown>): Promise<{ code: number; reason: string | undefined; message: string | undefined }> {
  try {
    await p;
  } catch (e) {
    return apiError(e);
  }
  assert.fail('expected the request to fail');
}

test('Service CRUD through CoreV1Api: allocation, server metadata, conflicts, patches, delete', async (t) => {
  const fake = await startFakeApiServer(t);
  const core = fake.kubeconfig().makeApiClient(CoreV1Api);

  const created = await core.createNamespacedService({ namespace: 'shop', body: service('shop', 'web') as V1Service });
  assert.match(created.spec!.clusterIP!, /^10\.96\.\d+\.\d+$/);
  assert.deepEqual(created.spec!.clusterIPs, [created.spec!.clusterIP]);
  assert.equal(created.spec!.ports![0]!.protocol, 'TCP');
  assert.equal(created.spec!.internalTrafficPolicy, 'Cluster');
  assert.ok(created.metadata!.uid);
  assert.ok(created.metadata!.creationTimestamp instanceof Date);
  assert.equal(created.metadata!.generation, 1);
  const other = await core.createNamespacedService({ namespace: 'shop', body: service('shop', 'api') as V1Service });
  assert.notEqual(other.spec!.clusterIP, created.spec!.clusterIP, 'each Service gets its own ClusterIP');

  assert.equal((await rejects(core.createNamespacedService({ namespace: 'shop', body: service('shop', 'web') as V1Service }))).reason, 'AlreadyExists');
  const bad = await rejects(core.createNamespacedService({ namespace: 'shop', body: service('shop', 'Bad_Name') as V1Service }));
  assert.equal(bad.code, 422);
  assert.match(bad.message!, /Bad_Name/);
  const noPorts = await rejects(core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'empty' }, spec: {} } }));
  assert.equal(noPorts.code, 422);
  assert.match(noPorts.message!, /spec\.ports/);

  // Update with the current version works; the stale version then conflicts.
  const read = await core.readNamespacedService({ namespace: 'shop', name: 'web' });
  read.metadata!.annotations = { 'hostmesh.io/retry-count': '2' };
  const updated = await core.replaceNamespacedService({ namespace: 'shop', name: 'web', body: read });
  assert.equal(updated.metadata!.annotations!['hostmesh.io/retry-count'], '2');
  assert.equal(updated.spec!.clusterIP, created.spec!.clusterIP, 'the ClusterIP survives an update');
  assert.ok(Number(updated.metadata!.resourceVersion) > Number(read.metadata!.resourceVersion));
  assert.equal(updated.metadata!.generation, 1, 'metadata-only changes keep the generation');
  const conflict = await rejects(core.replaceNamespacedService({ namespace: 'shop', name: 'web', body: read }));
  assert.equal(conflict.code, 409);
  assert.equal(conflict.reason, 'Conflict');

  // client-node 2 sends JSON patch unless told otherwise.
  const jsonPatched = await core.patchNamespacedService({
    namespace: 'shop', name: 'web', body: [{ op: 'replace', path: '/spec/ports/0/port', value: 81 }],
  });
  assert.equal(jsonPatched.spec!.ports![0]!.port, 81);
  assert.equal(jsonPatched.metadata!.generation, 2, 'a spec change bumps the generation');
  const merged = await core.patchNamespacedService(
    { namespace: 'shop', name: 'web', body: { metadata: { labels: { tier: 'front' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.deepEqual(merged.metadata!.labels, { tier: 'front' });
  assert.equal(merged.metadata!.annotations!['hostmesh.io/retry-count'], '2');
  const failedTest = await rejects(core.patchNamespacedService({
    namespace: 'shop', name: 'web', body: [{ op: 'test', path: '/spec/ports/0/port', value: 9 }],
  }));
  assert.equal(failedTest.code, 422);
  const immutable = await rejects(core.patchNamespacedService(
    { namespace: 'shop', name: 'web', body: { spec: { clusterIP: '10.96.9.9' } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  ));
  assert.equal(immutable.code, 422);

  // An update that changes nothing does not bump the resourceVersion (no write, no watch event).
  const same = await core.replaceNamespacedService({ namespace: 'shop', name: 'web', body: merged });
  assert.equal(same.metadata!.resourceVersion, merged.metadata!.resourceVersion);

  const deleted = await core.deleteNamespacedService({ namespace: 'shop', name: 'web' });
  assert.equal(deleted.metadata!.name, 'web', 'Services answer DELETE with the object');
  assert.equal((await rejects(core.readNamespacedService({ namespace: 'shop', name: 'web' }))).code, 404);
  assert.equal((await rejects(core.deleteNamespacedService({ namespace: 'shop', name: 'web' }))).reason, 'NotFound');

  // The freed ClusterIP can be asked for explicitly; one in use cannot.
  const again = await core.createNamespacedService({ namespace: 'shop', body: { ...(service('shop', 'web2') as V1Service), spec: { ports: [{ port: 80 }], clusterIP: created.spec!.clusterIP } } });
  assert.equal(again.spec!.clusterIP, created.spec!.clusterIP);
  const taken = await rejects(core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'web3' }, spec: { ports: [{ port: 80 }], clusterIP: other.spec!.clusterIP } } }));
  assert.match(taken.message!, /already allocated/);

  assert.equal(fake.count('create', 'services'), 7);
  assert.equal(fake.count('patch', 'services'), 4);
  assert.equal(fake.count('delete'), 2);
});

test('EndpointSlices, ConfigMaps, Deployments, Namespaces and both Event APIs round-trip', async (t) => {
  const fake = await startFakeApiServer(t);
  const kc = fake.kubeconfig();
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const events = kc.makeApiClient(EventsV1Api);

  await core.createNamespace({ body: { metadata: { name: 'shop' } } });
  const slice = await discovery.createNamespacedEndpointSlice({ namespace: 'shop', body: endpointSlice('shop', 'web', 'web-abc', ['10.0.0.1', '10.0.0.2']) as never });
  assert.equal(slice.endpoints?.length, 2);
  const listed = await discovery.listNamespacedEndpointSlice({ namespace: 'shop', labelSelector: 'kubernetes.io/service-name=web' });
  assert.deepEqual(listed.items.map((s) => s.metadata!.name), ['web-abc']);
  const badSlice = await rejects(discovery.createNamespacedEndpointSlice({ namespace: 'shop', body: { metadata: { name: 'x' }, addressType: 'IPv5', endpoints: [] } as never }));
  assert.equal(badSlice.code, 422);

  const cm = await core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: { name: 'coredns' }, data: { Corefile: '.:53 {\n}\n' } } });
  assert.equal(cm.metadata!.generation, undefined, 'objects without spec have no generation');
  const status = await core.deleteNamespacedConfigMap({ namespace: 'kube-system', name: 'coredns' });
  assert.equal(status.status, 'Success');

  const dep = await apps.createNamespacedDeployment({ namespace: 'kube-system', body: {
    metadata: { name: 'coredns' },
    spec: { selector: { matchLabels: { k8s: 'dns' } }, template: { metadata: { labels: { k8s: 'dns' } }, spec: { containers: [{ name: 'coredns', image: 'coredns' }] } } },
  } });
  assert.equal(dep.spec!.replicas, 1);
  const restarted = await apps.patchNamespacedDeployment(
    { namespace: 'kube-system', name: 'coredns', body: { spec: { template: { metadata: { annotations: { 'hostmesh.io/restarted': '1' } } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(restarted.metadata!.generation, 2);
  assert.deepEqual(restarted.spec!.template.metadata!.labels, { k8s: 'dns' });

  // CoreV1Api.createNamespacedEvent posts to /api/v1 (core Events); EventsV1Api to events.k8s.io/v1.
  await core.createNamespacedEvent({ namespace: 'shop', body: {
    metadata: { name: 'web.1' }, involvedObject: { kind: 'Service', name: 'web', namespace: 'shop' }, reason: 'BadAnnotation', type: 'Warning', message: 'x',
  } });
  await events.createNamespacedEvent({ namespace: 'shop', body: {
    metadata: { name: 'web.2' }, regarding: { kind: 'Service', name: 'web', namespace: 'shop' }, reason: 'BadAnnotation', type: 'Warning', note: 'x',
    eventTime: new Date(), reportingController: 'hostmesh.io/controller', reportingInstance: 'controller-0', action: 'Translate',
  } });
  assert.equal(fake.count('create', 'events'), 1);
  assert.equal(fake.count('create', 'events.events.k8s.io'), 1);
  const incomplete = await rejects(events.createNamespacedEvent({ namespace: 'shop', body: { metadata: { name: 'web.3' }, eventTime: new Date() } }));
  assert.equal(incomplete.code, 422);
  const byField = await core.listNamespacedEvent({ namespace: 'shop', fieldSelector: 'involvedObject.name=web,type=Warning' });
  assert.equal(byField.items.length, 1);

  // Deleting a namespace takes its contents with it.
  await core.deleteNamespace({ name: 'shop' });
  assert.deepEqual((await discovery.listEndpointSliceForAllNamespaces()).items, []);
  assert.deepEqual((await core.listNamespacedEvent({ namespace: 'shop' })).items, []);
});

test('lists: label and field selectors, pagination, resourceVersion semantics, 410 on an expired continue', async (t) => {
  const fake = await startFakeApiServer(t);
  const core = fake.kubeconfig().makeApiClient(CoreV1Api);
  const labels: Record<string, Record<string, string>> = {
    a: { app: 'web', tier: 'front' }, b: { app: 'web', tier: 'back' }, c: { app: 'db' }, d: {},
  };
  for (const [name, l] of Object.entries(labels)) fake.create('configmaps', { metadata: { name, namespace: 'ns1', labels: l } });
  fake.create('configmaps', { metadata: { name: 'e', namespace: 'ns2', labels: { app: 'web' } } });

  const select = async (labelSelector?: string, fieldSelector?: string, namespace = 'ns1') =>
    (await core.listNamespacedConfigMap({ namespace, labelSelector, fieldSelector })).items.map((i) => i.metadata!.name);
  assert.deepEqual(await select('app=web'), ['a', 'b']);
  assert.deepEqual(await select('app==web,tier!=back'), ['a']);
  assert.deepEqual(await select('tier!=back'), ['a', 'c', 'd'], '!= matches objects without the label');
  assert.deepEqual(await select('app in (web, db)'), ['a', 'b', 'c']);
  assert.deepEqual(await select('app notin (web)'), ['c', 'd']);
  assert.deepEqual(await select('tier'), ['a', 'b']);
  assert.deepEqual(await select('!tier'), ['c', 'd']);
  assert.deepEqual(await select(undefined, 'metadata.name=c'), ['c']);
  assert.deepEqual(await select(undefined, 'metadata.name!=c'), ['a', 'b', 'd']);
  assert.deepEqual((await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=ns2' })).items.map((i) => i.metadata!.name), ['e']);
  assert.equal((await rejects(select('app in (web'))).code, 400);
  assert.equal((await rejects(select(undefined, 'spec.nothing=1'))).code, 400);

  // Pagination keeps one consistent snapshot even when objects change between pages.
  const first = await core.listNamespacedConfigMap({ namespace: 'ns1', limit: 2 });
  assert.deepEqual(first.items.map((i) => i.metadata!.name), ['a', 'b']);
  assert.equal(first.metadata!.remainingItemCount, 2);
  fake.delete('configmaps', 'c', 'ns1');
  fake.create('configmaps', { metadata: { name: 'cc', namespace: 'ns1' } });
  // client-node spells the continue token `_continue`, in requests and in list metadata.
  const token = (first.metadata as Record<string, string | undefined>)['_continue'];
  const withToken = { namespace: 'ns1', limit: 2, ['_continue']: token };
  const second = await core.listNamespacedConfigMap(withToken);
  assert.deepEqual(second.items.map((i) => i.metadata!.name), ['c', 'd']);
  assert.equal(second.metadata!.resourceVersion, first.metadata!.resourceVersion);
  assert.equal((second.metadata as Record<string, string | undefined>)['_continue'], undefined);

  // An exact past version is served from history; once compacted it is 410 Gone, as is the continue.
  const past = await core.listNamespacedConfigMap({ namespace: 'ns1', resourceVersion: first.metadata!.resourceVersion, resourceVersionMatch: 'Exact' });
  assert.deepEqual(past.items.map((i) => i.metadata!.name), ['a', 'b', 'c', 'd']);
  const now = await core.listNamespacedConfigMap({ namespace: 'ns1', resourceVersion: first.metadata!.resourceVersion });
  assert.deepEqual(now.items.map((i) => i.metadata!.name), ['a', 'b', 'cc', 'd'], 'NotOlderThan serves the latest state');
  fake.compact();
  const expired = await rejects(core.listNamespacedConfigMap(withToken));
  assert.equal(expired.code, 410);
  assert.equal(expired.reason, 'Expired');
  assert.equal((await rejects(core.listNamespacedConfigMap({ namespace: 'ns1', resourceVersion: first.metadata!.resourceVersion, resourceVersionMatch: 'Exact' }))).code, 410);
  assert.equal((await rejects(core.listNamespacedConfigMap({ namespace: 'ns1', resourceVersion: '999999' }))).code, 504);
});

test('watch wire format: initial ADDED, replay from a version, selector transitions, bookmarks, 410 ERROR, timeout', async (t) => {
  const fake = await startFakeApiServer(t, { token: 'sekret' });
  const base = `${fake.url}/api/v1/namespaces/ns/configmaps`;
  fake.create('configmaps', { metadata: { name: 'a', namespace: 'ns', labels: { app: 'web' } } });
  const b = fake.create('configmaps', { metadata: { name: 'b', namespace: 'ns', labels: { app: 'web' } } });
  fake.create('configmaps', { metadata: { name: 'other', namespace: 'elsewhere' } });

  const unauthorized = await fetch(`${base}?watch=true`);
  assert.equal(unauthorized.status, 401);
  await unauthorized.body?.cancel();

  const initial = await rawWatch(`${base}?watch=1`, 'sekret');
  t.after(() => initial.close());
  assert.equal(initial.status, 200);
  assert.deepEqual([(await initial.next())!.object.metadata!.name, (await initial.next())!.object.metadata!.name], ['a', 'b']);

  // Replay: only what happened after b's version, in order; a label change out of the
  // selection arrives as DELETED, back into it as ADDED.
  const rv = b.metadata.resourceVersion!;
  fake.patch('configmaps', 'a', 'ns', { data: { k: 'v' } });
  fake.patch('configmaps', 'b', 'ns', { metadata: { labels: { app: 'db' } } });
  const replay = await rawWatch(`${base}?watch=true&resourceVersion=${rv}&labelSelector=app%3Dweb&allowWatchBookmarks=true`, 'sekret');
  t.after(() => replay.close());
  const e1 = (await replay.next())!;
  const e2 = (await replay.next())!;
  assert.deepEqual([e1.type, e1.object.metadata!.name, e2.type, e2.object.metadata!.name], ['MODIFIED', 'a', 'DELETED', 'b']);
  assert.equal(e1.object.kind, 'ConfigMap', 'watch objects carry their kind');
  fake.patch('configmaps', 'b', 'ns', { metadata: { labels: { app: 'web' } } });
  const e3 = (await replay.next())!;
  assert.deepEqual([e3.type, e3.object.metadata!.name], ['ADDED', 'b']);
  fake.sendBookmarks();
  const bookmark = (await replay.next())!;
  assert.equal(bookmark.type, 'BOOKMARK');
  assert.equal(bookmark.object.metadata!.resourceVersion, String(fake.store.currentRv));
  assert.equal(fake.openWatches('configmaps'), 2);

  // Compacted history: a 200 stream with one ERROR event holding a 410 Status, then the end.
  fake.patch('configmaps', 'a', 'ns', { data: { k: 'v2' } });
  fake.compact();
  const gone = await rawWatch(`${base}?watch=true&resourceVersion=${rv}`, 'sekret');
  assert.equal(gone.status, 200);
  const err = (await gone.next())!;
  assert.equal(err.type, 'ERROR');
  assert.equal(err.object.kind, 'Status');
  assert.equal(err.object.code, 410);
  assert.equal(await gone.next(), undefined);

  const timed = await rawWatch(`${base}?watch=true&resourceVersion=${fake.store.currentRv}&timeoutSeconds=1`, 'sekret');
  assert.equal(await timed.next(), undefined, 'the server ends the stream after timeoutSeconds');

  const streaming = await rawWatch(`${base}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`, 'sekret');
  t.after(() => streaming.close());
  assert.deepEqual([(await streaming.next())!.type, (await streaming.next())!.type], ['ADDED', 'ADDED']);
  const end = (await streaming.next())!;
  assert.equal(end.type, 'BOOKMARK');
  assert.equal(end.object.metadata!.annotations!['k8s.io/initial-events-end'], 'true');
});

test('makeInformer sees adds, updates and deletes; what happens on a clean end, a cut and a compaction', async (t) => {
  const fake = await startFakeApiServer(t);
  const kc = fake.kubeconfig();
  const core = kc.makeApiClient(CoreV1Api);
  fake.create('services', service('ns', 'one'));
  const informer = makeInformer<KubernetesObject>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
  const seen: string[] = [];
  const errors: unknown[] = [];
  informer.on('add', (o) => seen.push(`add ${o.metadata!.name}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata!.name}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
  informer.on('error', (e) => errors.push(e));
  await informer.start();
  t.after(() => informer.stop());
  assert.deepEqual(seen, ['add one']);

  await core.createNamespacedService({ namespace: 'ns', body: service('ns', 'two') as V1Service });
  await core.patchNamespacedService({ namespace: 'ns', name: 'two', body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
  await core.deleteNamespacedService({ namespace: 'ns', name: 'one' });
  await waitFor('three events', () => seen.length === 4);
  assert.deepEqual(seen, ['add one', 'add two', 'update two', 'delete one']);

  // A cleanly ended watch is resumed from the last version by the informer itself, no relist.
  const lists = fake.count('list', 'services');
  fake.endWatches();
  fake.create('services', service('ns', 'three'));
  await waitFor('the resumed watch', () => seen.includes('add three'));
  assert.equal(fake.count('list', 'services'), lists);

  // A cut connection is an error, and client-node 2.0's informer then STOPS (no reconnect).
  // Restarting it resumes from the kept version: the change made meanwhile is replayed.
  fake.cutWatches();
  fake.create('services', service('ns', 'four'));
  await waitFor('the error callback', () => errors.length === 1);
  assert.equal(fake.openWatches(), 0);
  await informer.start();
  await waitFor('the replayed add', () => seen.includes('add four'));
  assert.equal(fake.count('list', 'services'), lists, 'resumed from history, not relisted');

  // A non-410 ERROR event is ignored; the stream's end makes the informer resume from the same version.
  fake.failNext('watch', { resource: 'services', code: 500, asWatchEvent: true });
  fake.endWatches();
  fake.create('services', service('ns', 'five'));
  await waitFor('the add after the ERROR event', () => seen.includes('add five'));
  assert.equal(fake.count('list', 'services'), lists, 'no relist for a 500 ERROR event');
  assert.equal(errors.length, 1, 'and no error callback');

  // Compacted history: the informer gets 410, relists by itself, and reports the delete it missed.
  fake.endWatches();
  fake.delete('services', 'two', 'ns');
  fake.compact();
  await waitFor('the relist', () => seen.includes('delete two'));
  assert.equal(fake.count('list', 'services'), lists + 1);
  assert.deepEqual(names(informer.list()), ['ns/five', 'ns/four', 'ns/three']);
  assert.equal(errors.length, 1);

  // The informer reconnects after its own delay (1 s here); stopping it before then would not
  // cancel the pending reconnect (client-node 2.0 opens the watch anyway), so let it connect.
  await waitFor('the watch after the relist', () => fake.openWatches() === 1);
});

test('restart keeps data and history; a wrong token is refused', async (t) => {
  const fake = await startFakeApiServer(t, { token: 'right' });
  const port = fake.port;
  fake.create('configmaps', { metadata: { name: 'kept', namespace: 'ns' } });
  await fake.restart(() => {
    fake.create('configmaps', { metadata: { name: 'while-down', namespace: 'ns' } });
  });
  assert.equal(fake.port, port);
  const core = fake.kubeconfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespacedConfigMap({ namespace: 'ns' });
  assert.deepEqual(list.items.map((i: V1ConfigMap) => i.metadata!.name), ['kept', 'while-down']);
  const wrong = fake.kubeconfig({ token: 'wrong' }).makeApiClient(CoreV1Api);
  assert.equal((await rejects(wrong.listNamespacedConfigMap({ namespace: 'ns' }))).code, 401);
  fake.failNext('get', { code: 503, times: 2 });
  assert.equal((await rejects(core.readNamespacedConfigMap({ namespace: 'ns', name: 'kept' }))).code, 503);
  assert.equal((await rejects(core.readNamespacedConfigMap({ namespace: 'ns', name: 'kept' }))).code, 503);
  assert.equal((await core.readNamespacedConfigMap({ namespace: 'ns', name: 'kept' })).metadata!.name, 'kept');
});

test('discovery answers for KubernetesObjectApi-style clients', async (t) => {
  const fake = await startFakeApiServer(t, { gatewayApi: false });
  fake.registerResource({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', namespaced: true });
  const get = async (path: string) => (await fetch(`${fake.url}${path}`)).json() as Promise<Record<string, unknown>>;
  const groups = await get('/apis') as { groups: { name: string }[] };
  assert.deepEqual(groups.groups.map((g) => g.name).toSorted(), ['apps', 'authorization.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'gateway.networking.k8s.io', 'rbac.authorization.k8s.io']);
  const core = await get('/api/v1') as { resources: { name: string }[] };
  assert.ok(core.resources.some((r) => r.name === 'services/status'));
  const route = fake.create('httproutes.gateway.networking.k8s.io', { metadata: { name: 'r', namespace: 'ns' }, spec: { parentRefs: [] } });
  assert.equal(route.metadata.generation, 1);
  const list = await get('/apis/gateway.networking.k8s.io/v1/namespaces/ns/httproutes') as { items: { kind: string }[] };
  assert.equal(list.items[0]!.kind, 'HTTPRoute', 'custom resource list items keep their kind');
  assert.equal((await fetch(`${fake.url}/apis/nothing.example/v1/things`)).status, 404);
});

test('SMI CRDs: none by default; served in the versions asked for, each version its own store, in discovery and list/watch', async (t) => {
  const none = await startFakeApiServer(t);
  const noneGroups = (await (await fetch(`${none.url}/apis`)).json()) as { groups: { name: string }[] };
  assert.ok(!noneGroups.groups.some((g) => g.name.endsWith('smi-spec.io')), 'no SMI group unless asked');
  assert.equal((await fetch(`${none.url}/apis/split.smi-spec.io/v1alpha4`)).status, 404);

  const fake = await startFakeApiServer(t, { smi: { TrafficTarget: ['v1alpha1', 'v1alpha2'], UDPRoute: [] } });
  const get = async (path: string) => (await fetch(`${fake.url}${path}`)).json() as Promise<Record<string, unknown>>;
  const groups = await get('/apis') as { groups: { name: string; versions: { version: string }[] }[] };
  const versions = (name: string) => groups.groups.find((g) => g.name === name)?.versions.map((v) => v.version);
  assert.deepEqual(versions('access.smi-spec.io'), ['v1alpha1', 'v1alpha2']);
  assert.deepEqual(versions('split.smi-spec.io'), ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4']);
  const specs = await get('/apis/specs.smi-spec.io/v1alpha4') as { resources: { name: string }[] };
  assert.deepEqual(specs.resources.map((r) => r.name), ['httproutegroups', 'tcproutes'], 'no UDPRoute CRD');
  assert.equal((await fetch(`${fake.url}/apis/access.smi-spec.io/v1alpha3`)).status, 404);

  // Created in the version its apiVersion names; listed (with apiVersion and kind) only there.
  fake.create('traffictargets.access.smi-spec.io', { apiVersion: 'access.smi-spec.io/v1alpha2', kind: 'TrafficTarget', metadata: { name: 'tt', namespace: 'ns' }, spec: {} });
  const v2 = await get('/apis/access.smi-spec.io/v1alpha2/namespaces/ns/traffictargets') as { items: { apiVersion: string; kind: string }[] };
  assert.deepEqual(v2.items.map((i) => `${i.apiVersion} ${i.kind}`), ['access.smi-spec.io/v1alpha2 TrafficTarget']);
  const v1 = await get('/apis/access.smi-spec.io/v1alpha1/traffictargets') as { items: unknown[] };
  assert.deepEqual(v1.items, []);
  // A watch of the version it is in sees it; `plural.group/version` names one version in test controls.
  const watch = await rawWatch(`${fake.url}/apis/access.smi-spec.io/v1alpha2/traffictargets?watch=true`);
  t.after(() => watch.close());
  const added = await watch.next();
  assert.deepEqual([added?.type, added?.object.metadata?.name], ['ADDED', 'tt']);
  fake.delete('traffictargets.access.smi-spec.io/v1alpha2', 'tt', 'ns');
  assert.equal((await watch.next())?.type, 'DELETED');
});

test('SubjectAccessReview is answered from the stored RBAC objects like the RBAC authorizer', async (t) => {
  const fake = await startFakeApiServer(t);
  const rbac = (plural: string) => `${plural}.rbac.authorization.k8s.io`;
  fake.create(rbac('clusterroles'), { metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] }, { apiGroups: ['apps'], resources: ['deployments/status'], verbs: ['*'] }] });
  fake.create(rbac('roles'), { metadata: { name: 'one-map', namespace: 'a' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['update'], resourceNames: ['coredns'] }] });
  fake.create(rbac('clusterrolebindings'), { metadata: { name: 'readers' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'Group', name: 'team' }] });
  fake.create(rbac('rolebindings'), { metadata: { name: 'sa-map', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'one-map' }, subjects: [{ kind: 'ServiceAccount', name: 'ctl', namespace: 'mesh' }] });
  fake.create(rbac('rolebindings'), { metadata: { name: 'reader-in-b', namespace: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'User', name: 'bob' }] });
  const ask = async (spec: object): Promise<{ code: number; allowed: boolean | undefined }> => {
    const res = await fetch(`${fake.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec }) });
    const body = await res.json() as { status?: { allowed?: boolean } };
    return { code: res.status, allowed: body.status?.allowed };
  };
  const sa = 'system:serviceaccount:mesh:ctl';
  const cases: [object, boolean][] = [
    [{ user: 'amy', groups: ['team'], resourceAttributes: { verb: 'list', resource: 'services' } }, true],
    [{ user: 'amy', groups: ['team'], resourceAttributes: { verb: 'watch', resource: 'services', namespace: 'x' } }, false],
    [{ user: 'amy', groups: ['team'], resourceAttributes: { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'status', namespace: 'x' } }, true],
    [{ user: 'amy', groups: ['team'], resourceAttributes: { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'x' } }, false],
    [{ user: sa, resourceAttributes: { verb: 'update', resource: 'configmaps', namespace: 'a', name: 'coredns' } }, true],
    [{ user: sa, resourceAttributes: { verb: 'update', resource: 'configmaps', namespace: 'a', name: 'other' } }, false],
    [{ user: sa, resourceAttributes: { verb: 'update', resource: 'configmaps', namespace: 'b', name: 'coredns' } }, false],
    [{ user: 'system:serviceaccount:other:ctl', resourceAttributes: { verb: 'update', resource: 'configmaps', namespace: 'a', name: 'coredns' } }, false],
    [{ user: 'bob', resourceAttributes: { verb: 'get', resource: 'services', namespace: 'b' } }, true],
    [{ user: 'bob', resourceAttributes: { verb: 'get', resource: 'services', namespace: 'c' } }, false],
    [{ user: 'bob', resourceAttributes: { verb: 'get', resource: 'services' } }, false],
  ];
  for (const [spec, allowed] of cases) assert.deepEqual(await ask(spec), { code: 201, allowed }, JSON.stringify(spec));
  assert.equal((await ask({ resourceAttributes: { verb: 'get', resource: 'services' } })).code, 422);
  assert.equal((await ask({ user: 'bob' })).code, 422);
});
