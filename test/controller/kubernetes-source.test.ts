/**
 * The Kubernetes source against the fake API server: snapshots follow creates, annotation
 * changes and deletes; a cut watch, a 410 and a server restart lose no update.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { KubernetesSource } from '../../src/controller/source/kubernetes.ts';
import type { KubernetesSourceOptions } from '../../src/controller/source/kubernetes.ts';
import type { ClusterState } from '../../src/controller/objects.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import type { HostmeshError } from '../../src/common/errors.ts';
import type { FakeApiServer, FakeApiServerOptions } from '../support/fake-apiserver.ts';
import { endpointSlice, names, pod, service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { LAST_APPLIED_ANNOTATION } from '../../src/controller/kube/trim.ts';
import { LIST_PAGE } from '../../src/controller/kube/informer.ts';

interface Harness {
  fake: FakeApiServer;
  source: KubernetesSource;
  snapshots: ClusterState[];
  errors: HostmeshError[];
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  /** Waits until the latest emitted snapshot satisfies `check`. */
  until(what: string, check: (s: ClusterState) => boolean): Promise<ClusterState>;
}

/** Informers per watched namespace: Services, EndpointSlices, Pods (the Gateway API CRDs are absent in these tests). */
const FEEDS = 3;

async function harness(t: TestContext, options: Partial<KubernetesSourceOptions> = {}, seed?: (fake: FakeApiServer) => void, fakeOptions: FakeApiServerOptions = { gatewayApi: false }): Promise<Harness> {
  const fake = await startFakeApiServer(t, fakeOptions);
  seed?.(fake);
  const kc = fake.kubeconfig();
  const source = new KubernetesSource({ kubeConfig: kc, backoff: { minMs: 10, maxMs: 100 }, ...options });
  const snapshots: ClusterState[] = [];
  const errors: HostmeshError[] = [];
  source.on('change', (s) => snapshots.push(s));
  source.on('error', (e) => errors.push(e));
  t.after(() => source.stop());
  await source.start();
  return {
    fake, source, snapshots, errors,
    core: kc.makeApiClient(CoreV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    until: (what, check) => waitFor(what, () => {
      const last = snapshots.at(-1);
      return last !== undefined && check(last) ? last : undefined;
    }),
  };
}

const svcNames = (s: ClusterState): string[] => names(s.services);
const sliceNames = (s: ClusterState): string[] => names(s.endpointSlices);

test('initial sync: one snapshot with everything, sorted, as plain JSON, and only then', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.create('services', service('b', 'web'));
    fake.create('services', service('a', 'api', { annotations: { 'hostmesh.io/retry-count': '3' } }));
    fake.create('endpointslices', endpointSlice('a', 'api', 'api-1', ['10.0.0.1']));
  });
  await h.source.synced;
  const first = await h.until('the first snapshot', () => true);
  assert.deepEqual(svcNames(first), ['a/api', 'b/web']);
  assert.deepEqual(first.services.map((s) => s.metadata.name), ['api', 'web'], 'sorted by namespace/name');
  assert.deepEqual(sliceNames(first), ['a/api-1']);
  assert.equal(first.services[0]!.metadata.annotations!['hostmesh.io/retry-count'], '3');
  assert.equal(first.endpointSlices[0]!.endpoints![0]!.conditions!.ready, true);
  // Listed objects are turned back into plain JSON, like watched ones and YAML manifests.
  assert.equal(Object.getPrototypeOf(first.services[0]!.spec), Object.prototype);
  assert.equal(Object.getPrototypeOf(first.endpointSlices[0]!.endpoints![0]), Object.prototype);
  assert.equal(h.snapshots.length, 1, 'nothing is emitted before the initial lists are done');
  assert.equal(h.source.current(), first);
  assert.equal(h.fake.count('list'), FEEDS);
});

test('objects are stored trimmed, listed or watched: no managed fields, status or apply copy; what translation reads is kept', async (t) => {
  const served = <T extends { metadata: object }>(o: T, extra: Record<string, unknown> = {}): T => ({
    ...o,
    metadata: { ...o.metadata, managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }], annotations: { ...(o.metadata as { annotations?: object }).annotations, [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}' } },
    ...extra,
  });
  const seed = (fake: FakeApiServer, n: string): void => {
    fake.create('services', served(service('a', `svc-${n}`, { annotations: { 'hostmesh.io/retry-count': '3' } }), { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }));
    const slice = endpointSlice('a', `svc-${n}`, `svc-${n}-1`, ['10.0.0.1', '10.0.0.2']);
    slice.endpoints = slice.endpoints!.map((e) => ({ ...e, hostname: 'h', targetRef: { kind: 'Pod', namespace: 'a', name: `p-${n}`, uid: 'u' } as never }));
    fake.create('endpointslices', served(slice));
    const p = pod('a', `p-${n}`, '10.0.0.1', 'sa');
    fake.create('pods', served({ ...p, spec: { ...p.spec, nodeName: 'node-1', containers: [{ name: 'c', image: 'i' }] } as never, status: { ...p.status, hostIP: '192.0.2.9', conditions: [] } as never }));
  };
  const h = await harness(t, {}, (fake) => seed(fake, 'listed'));
  await h.source.synced;
  seed(h.fake, 'watched');
  const state = await h.until('both sets of objects', (s) => s.services.length === 2 && s.endpointSlices.length === 2 && s.pods?.length === 2);
  for (const svc of state.services) {
    const m = svc.metadata as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(m).toSorted(), ['annotations', 'generation', 'name', 'namespace', 'resourceVersion', 'uid'], svc.metadata.name);
    assert.deepEqual(svc.metadata.annotations, { 'hostmesh.io/retry-count': '3' });
    assert.equal('status' in svc, false);
    assert.deepEqual(svc.spec?.selector, { app: svc.metadata.name });
  }
  for (const slice of state.endpointSlices) {
    assert.equal('managedFields' in slice.metadata, false);
    assert.deepEqual(slice.endpoints![0], { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'a', name: slice.endpoints![0]!.targetRef!.name } });
    // One shared conditions object for equal conditions.
    assert.equal(slice.endpoints![0]!.conditions, state.endpointSlices[0]!.endpoints![1]!.conditions);
  }
  for (const p of state.pods!) {
    assert.deepEqual(p.spec, { serviceAccountName: 'sa', nodeName: 'node-1' });
    assert.deepEqual(p.status, { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] });
  }
});

test('large collections are listed in pages of LIST_PAGE, and the watch goes on from the list', async (t) => {
  const n = 2 * LIST_PAGE + 7;
  const h = await harness(t, {}, (fake) => {
    for (let i = 0; i < n; i++) fake.create('services', service(`ns${i % 3}`, `svc-${String(i).padStart(4, '0')}`));
  });
  await h.source.synced;
  const first = await h.until('every Service', (s) => s.services.length === n);
  assert.equal(new Set(svcNames(first)).size, n);
  // Three pages of Services, one list each of EndpointSlices and pods.
  assert.equal(h.fake.count('list'), FEEDS + 2);
  h.fake.create('services', service('ns0', 'late'));
  await h.until('a Service created after the list', (s) => s.services.length === n + 1);
  assert.equal(h.fake.count('list'), FEEDS + 2, 'no relist');
});

test('creates, annotation changes and deletes of Services and EndpointSlices reach the snapshot', async (t) => {
  const h = await harness(t);
  await h.source.synced;

  await h.core.createNamespacedService({ namespace: 'shop', body: service('shop', 'web') as V1Service });
  await h.discovery.createNamespacedEndpointSlice({ namespace: 'shop', body: endpointSlice('shop', 'web', 'web-1', ['10.0.0.1']) as V1EndpointSlice });
  let s = await h.until('web and its slice', (x) => svcNames(x).includes('shop/web') && sliceNames(x).includes('shop/web-1'));
  assert.match(s.services[0]!.spec!.clusterIP!, /^10\.96\./);

  await h.core.patchNamespacedService({ namespace: 'shop', name: 'web', body: [{ op: 'add', path: '/metadata/annotations', value: { 'hostmesh.io/maintenance': 'true' } }] });
  s = await h.until('the annotation', (x) => x.services[0]?.metadata.annotations?.['hostmesh.io/maintenance'] === 'true');

  await h.discovery.patchNamespacedEndpointSlice({ namespace: 'shop', name: 'web-1', body: [{ op: 'replace', path: '/endpoints/0/conditions/ready', value: false }] });
  s = await h.until('the endpoint not ready', (x) => x.endpointSlices[0]?.endpoints?.[0]?.conditions?.ready === false);

  await h.discovery.deleteNamespacedEndpointSlice({ namespace: 'shop', name: 'web-1' });
  await h.core.deleteNamespacedService({ namespace: 'shop', name: 'web' });
  s = await h.until('everything deleted', (x) => x.services.length === 0 && x.endpointSlices.length === 0);
  assert.deepEqual(h.errors, []);
});

test('ignoreNamespaces keeps objects out; watchNamespaces watches only those, one informer pair each', async (t) => {
  const h = await harness(t, { watchNamespaces: ['shop', 'mesh'], ignoreNamespaces: ['mesh'] }, (fake) => {
    fake.create('services', service('shop', 'web'));
    fake.create('services', service('mesh', 'web-shop'));
    fake.create('services', service('other', 'db'));
  });
  await h.source.synced;
  assert.deepEqual(svcNames(h.source.current()), ['shop/web']);
  await waitFor('six watches', () => h.fake.openWatches() === 2 * FEEDS);
  const paths = h.fake.requests.filter((r) => r.verb === 'watch').map((r) => `${r.resource} ${r.namespace ?? '*'}`).toSorted();
  assert.deepEqual(paths, ['endpointslices.discovery.k8s.io mesh', 'endpointslices.discovery.k8s.io shop', 'pods mesh', 'pods shop', 'services mesh', 'services shop']);
  assert.ok(h.fake.requests.filter((r) => r.verb === 'watch').every((r) => r.query.allowWatchBookmarks === 'true'), 'watches ask for bookmarks');

  h.fake.create('services', service('mesh', 'api-shop'));
  h.fake.create('services', service('other', 'cache'));
  h.fake.create('services', service('shop', 'api'));
  await h.until('shop/api', (x) => svcNames(x).includes('shop/api'));
  for (const s of h.snapshots) assert.deepEqual(svcNames(s).filter((n) => !n.startsWith('shop/')), []);

  assert.throws(() => new KubernetesSource({ kubeConfig: h.fake.kubeconfig(), watchNamespaces: ['Bad_NS'] }),
    (e: unknown) => isHostmeshError(e, 'K8S_BAD_NAMESPACE') && /Bad_NS/.test(e.message));
});

test('a cut watch is restarted and replays the change made while it was down, without a relist', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.create('services', service('shop', 'web'));
    fake.create('services', service('shop', 'old'));
  });
  await h.source.synced;
  await waitFor('both watches', () => h.fake.openWatches() === FEEDS);
  const lists = h.fake.count('list');

  assert.equal(h.fake.cutWatches(), FEEDS);
  // Same tick as the cut: the client cannot have reconnected yet.
  h.fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/scheme': 'h2c' } } });
  h.fake.delete('services', 'old', 'shop');
  h.fake.create('endpointslices', endpointSlice('shop', 'web', 'web-1', ['10.0.0.9']));

  const s = await h.until('the replayed changes', (x) =>
    svcNames(x).join() === 'shop/web' && x.services[0]!.metadata.annotations?.['hostmesh.io/scheme'] === 'h2c' && sliceNames(x).join() === 'shop/web-1');
  assert.equal(s.endpointSlices[0]!.endpoints![0]!.addresses![0], '10.0.0.9');
  assert.equal(h.fake.count('list'), lists, 'resumed from the kept resourceVersion');
  assert.ok(h.errors.length >= 2);
  for (const e of h.errors) {
    assert.equal(e.code, 'K8S_WATCH_FAILED');
    assert.match(e.message, /watching (services|endpointslices|pods) in all namespaces failed/);
    assert.equal(typeof e.details?.retryInMs, 'number');
  }
  await waitFor('both watches again', () => h.fake.openWatches() === FEEDS);
});

test('after a 410 the source relists and the snapshot matches the server, deletes included', async (t) => {
  const h = await harness(t, {}, (fake) => {
    for (const name of ['a', 'b', 'c']) fake.create('services', service('shop', name));
    fake.create('endpointslices', endpointSlice('shop', 'a', 'a-1', ['10.0.0.1']));
  });
  await h.source.synced;
  await waitFor('both watches', () => h.fake.openWatches() === FEEDS);
  const lists = h.fake.count('list');

  h.fake.cutWatches();
  h.fake.delete('services', 'a', 'shop');
  h.fake.patch('services', 'b', 'shop', { metadata: { labels: { v: '2' } } });
  h.fake.create('services', service('shop', 'd'));
  h.fake.delete('endpointslices', 'a-1', 'shop');
  h.fake.compact();

  const s = await h.until('the relisted state', (x) =>
    svcNames(x).join() === 'shop/b,shop/c,shop/d' && x.services[0]!.metadata.labels?.v === '2' && x.endpointSlices.length === 0);
  assert.equal(s.services.length, 3);
  // An informer with nothing changed (pods) may relist after the snapshot already matches.
  await waitFor('a relist of every informer', () => h.fake.count('list') >= lists + FEEDS);
  assert.equal(h.fake.count('list'), lists + FEEDS, 'one relist per informer');

  // An HTTP 410 answer to the watch request relists too.
  h.fake.failNext('watch', { resource: 'services', code: 410 });
  h.fake.endWatches();
  h.fake.create('services', service('shop', 'e'));
  await h.until('e after the HTTP 410', (x) => svcNames(x).includes('shop/e'));
  await waitFor('the services relist', () => h.fake.count('list', 'services') === lists / FEEDS + 2);
});

test('a server restart (with changes and a lost watch cache while down) converges', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.create('services', service('shop', 'web'));
    fake.create('services', service('shop', 'gone'));
  });
  await h.source.synced;
  await waitFor('both watches', () => h.fake.openWatches() === FEEDS);
  await h.fake.restart(() => {
    h.fake.delete('services', 'gone', 'shop');
    h.fake.create('services', service('shop', 'new'));
    h.fake.create('endpointslices', endpointSlice('shop', 'new', 'new-1', ['10.0.0.3']));
    h.fake.compact();
  });
  await h.until('the state after the restart', (x) => svcNames(x).join() === 'shop/new,shop/web' && sliceNames(x).join() === 'shop/new-1');
  await waitFor('both watches again', () => h.fake.openWatches() === FEEDS);
  assert.ok(h.errors.every((e) => e.code === 'K8S_WATCH_FAILED' || e.code === 'K8S_LIST_FAILED'));
});

test('a failed initial list is retried; synced waits for it; errors name the resource and the HTTP status', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.create('services', service('shop', 'web'));
    fake.failNext('list', { resource: 'services', code: 503, times: 2 });
  });
  await h.source.synced;
  assert.deepEqual(svcNames(h.source.current()), ['shop/web']);
  const listErrors = h.errors.filter((e) => e.code === 'K8S_LIST_FAILED');
  assert.equal(listErrors.length, 2);
  assert.match(listErrors[0]!.message, /listing services in all namespaces failed: HTTP 503/);
  assert.equal(listErrors[1]!.details?.attempt, 2);
});

test('stop: synced rejects when stopped first; a stopped source opens no new watch', async (t) => {
  const fake = await startFakeApiServer(t, { token: 'right', gatewayApi: false });
  const denied = new KubernetesSource({ kubeConfig: fake.kubeconfig({ token: 'wrong' }), backoff: { minMs: 10, maxMs: 50 } });
  const errors: HostmeshError[] = [];
  denied.on('error', (e) => errors.push(e));
  await denied.start();
  await waitFor('an authorization error', () => errors.some((e) => /HTTP 401/.test(e.message)));
  await denied.stop();
  await assert.rejects(denied.synced, (e: unknown) => isHostmeshError(e, 'K8S_STOPPED'));

  // Stopped while waiting to reconnect: the pending reconnect must not open a watch.
  const source = new KubernetesSource({ kubeConfig: fake.kubeconfig(), backoff: { minMs: 200, maxMs: 200 } });
  await source.start();
  await source.synced;
  await waitFor('both watches', () => fake.openWatches() === FEEDS);
  fake.cutWatches();
  await waitFor('the cut to be noticed', () => fake.openWatches() === 0);
  const watches = fake.count('watch');
  await source.stop();
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(fake.count('watch'), watches);
  assert.equal(fake.openWatches(), 0);
});

test('an unreachable API server is reported with the network cause and retried until it is back', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.create('services', service('shop', 'web'));
  });
  await h.source.synced;
  await h.fake.restart(async () => {
    await waitFor('a refused connection', () => h.errors.some((e) => /ECONNREFUSED/.test(e.message)));
    h.fake.create('services', service('shop', 'api'));
  });
  await h.until('the change made while unreachable', (x) => svcNames(x).join() === 'shop/api,shop/web');
  const refused = h.errors.find((e) => /ECONNREFUSED/.test(e.message))!;
  assert.match(refused.message, /^watching (services|endpointslices|pods) in all namespaces failed: .*\(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
});

test('snapshots patched from watch events equal a fresh list, and changes() says what moved between two', async (t) => {
  const h = await harness(t, {}, (fake) => {
    for (let i = 0; i < 12; i++) {
      fake.create('services', service(i % 2 ? 'a' : 'b', `s${i}`));
      fake.create('endpointslices', endpointSlice(i % 2 ? 'a' : 'b', `s${i}`, `s${i}-x`, [`10.0.0.${i}`]));
    }
  });
  await h.source.synced;
  const first = await h.until('the first snapshot', () => true);
  // A fixed, varied sequence: endpoint moves, creates, deletes, an annotation change, a new slice.
  let seed = 7;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let made = 0;
  for (let round = 0; round < 6; round++) {
    for (let k = 0; k < 4; k++) {
      const i = rnd(14);
      const ns = i % 2 ? 'a' : 'b';
      const op = rnd(5);
      const exists = h.fake.list('services', ns).some((s) => (s as { metadata: { name: string } }).metadata.name === `s${i}`);
      if (op === 0 && exists) h.fake.delete('services', `s${i}`, ns);
      else if (op === 0 || !exists) h.fake.create('services', service(ns, `s${i}`));
      else if (op === 1) h.fake.patch('services', `s${i}`, ns, { metadata: { annotations: { 'hostmesh.io/retry-count': String(round) } } });
      else if (op === 2) h.fake.create('endpointslices', endpointSlice(ns, `s${i}`, `s${i}-n${made++}`, [`10.1.0.${made}`]));
      else {
        const slices = h.fake.list('endpointslices', ns).filter((s) => (s as { metadata: { labels?: Record<string, string> } }).metadata.labels?.['kubernetes.io/service-name'] === `s${i}`);
        const victim = slices[0] as { metadata: { name: string } } | undefined;
        if (victim && op === 3) h.fake.delete('endpointslices', victim.metadata.name, ns);
        else if (victim) h.fake.patch('endpointslices', victim.metadata.name, ns, { endpoints: [{ addresses: [`10.2.0.${round}`], conditions: { ready: true } }] });
      }
    }
    const expect = (resource: string): string[] => names(h.fake.list(resource) as { metadata: { namespace: string; name: string } }[]);
    await h.until(`round ${round}`, (s) => sliceNames(s).join() === expect('endpointslices').join() && svcNames(s).join() === expect('services').join());
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const last = h.source.current();
  // A second source lists what the first one patched together event by event.
  const fresh = new KubernetesSource({ kubeConfig: h.fake.kubeconfig(), backoff: { minMs: 10, maxMs: 100 } });
  t.after(() => fresh.stop());
  await fresh.start();
  await fresh.synced;
  const listed = fresh.current();
  // (Listed and watched objects differ in shape, apiVersion and timestamps: compare versions.)
  const versions = (list: readonly { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }[]): string[] =>
    list.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}@${o.metadata?.resourceVersion}`);
  assert.deepEqual(versions(last.services), versions(listed.services));
  assert.deepEqual(versions(last.endpointSlices), versions(listed.endpointSlices));

  // changes(first, last): every Service that is not the same object is named, and replaying the
  // slice changes on the first snapshot's slices gives the last one's, object for object.
  const change = h.source.changes(first, last);
  assert.ok(change, 'remembered');
  assert.equal(change.base, first);
  const key = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace}/${o.metadata.name}`;
  const before = new Map(first.services.map((s) => [key(s), s]));
  for (const s of last.services) if (before.get(key(s)) !== s) assert.ok(change.services.has(key(s)), `${key(s)} is named`);
  for (const k of before.keys()) if (!last.services.some((s) => key(s) === k)) assert.ok(change.services.has(k), `${k} (deleted) is named`);
  let slices = [...first.endpointSlices];
  for (const { before: b, after: a } of change.endpointSlices) {
    if (b) slices = slices.filter((x) => x !== b);
    if (a) slices.push(a);
  }
  assert.deepEqual(names(slices), names(last.endpointSlices));
  assert.ok(slices.every((x) => last.endpointSlices.includes(x)));
  assert.equal(h.source.changes(last, first), undefined, 'only forwards');
});

test('changes() names the pods replaced, added and removed, also across snapshots where no pod changed', async (t) => {
  const h = await harness(t, {}, (fake) => {
    for (let i = 0; i < 4; i++) fake.create('pods', pod('shop', `p${i}`, `10.0.0.${i + 1}`, 'web'));
    fake.create('services', service('shop', 's'));
  });
  await h.source.synced;
  const first = await h.until('the first snapshot', (s) => (s.pods ?? []).length === 4);
  h.fake.create('pods', pod('shop', 'p9', '10.0.0.9', 'web'));
  h.fake.delete('pods', 'p1', 'shop');
  await h.until('the pod changes', (s) => (s.pods ?? []).length === 4 && s.pods!.some((p) => p.metadata.name === 'p9'));
  // A snapshot in between where only a Service changes: its step names no pod.
  h.fake.patch('services', 's', 'shop', { metadata: { annotations: { 'hostmesh.io/retry-count': '2' } } });
  await h.until('the Service change', (s) => s.services[0]?.metadata.annotations?.['hostmesh.io/retry-count'] === '2');
  h.fake.patch('pods', 'p2', 'shop', { metadata: { labels: { v: '2' } } });
  const last = await h.until('the pod label', (s) => s.pods!.some((p) => p.metadata.labels?.v === '2'));
  const change = h.source.changes(first, last);
  assert.ok(change?.pods && change.podChanges, 'pod changes named');
  // Replaying them on the first snapshot's pods gives the last one's, object for object.
  let pods = [...first.pods!];
  for (const { before, after } of change.podChanges) {
    if (before) pods = pods.filter((p) => p !== before);
    if (after) pods.push(after);
  }
  const key = (p: { metadata: { namespace?: string; name: string } }): string => `${p.metadata.namespace}/${p.metadata.name}`;
  assert.deepEqual(pods.map(key).toSorted(), last.pods!.map(key));
  assert.ok(pods.every((p) => last.pods!.includes(p)));
});
