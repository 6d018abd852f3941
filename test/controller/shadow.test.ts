/** Shadow Services: names, the desired object, reading allocations back, and the write plan. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Service } from '@kubernetes/client-node';
import { buildShadowService, readShadowState, shadowServiceName } from '../../src/controller/shadow/services.ts';
import { diffShadowServices, diffShadowServicesInSlices } from '../../src/controller/shadow/diff.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import { MANAGED_BY_LABEL, SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION } from '../../src/controller/constants.ts';
import { service, startFakeApiServer } from '../support/kube.ts';

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const options = { meshNamespace: 'hostmesh', proxySelector: { 'app.kubernetes.io/name': 'hostmesh-proxy' } };

/** Realistic Kubernetes names: DNS labels with dashes, sometimes long. */
const labelArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/).filter((s) => s.length <= 63);
const namespaceArb = fc.oneof(labelArb, fc.constantFrom('default', 'kube-system', 'a', 'shop', 'team-a', 'team-a-b'));

test('shadow names: plain <name>-<namespace> when unambiguous, hashed when truncated or ambiguous', () => {
  assert.equal(shadowServiceName('shop', 'web'), 'web-shop');
  const ambiguous = [shadowServiceName('c', 'a-b'), shadowServiceName('b-c', 'a')];
  assert.notEqual(ambiguous[0], ambiguous[1]);
  for (const n of ambiguous) assert.match(n, /^a-b-c-[a-z0-9]{8}$/);
  // Pinned: a different hash would rename (recreate, new ClusterIP) every hashed shadow on upgrade.
  assert.equal(shadowServiceName('my-team', 'my-app'), 'my-app-my-team-qgi65ai3');
  assert.match(shadowServiceName('dns', 'hostmesh'), /^hostmesh-dns-[a-z0-9]{8}$/, 'never plainly a name of the mesh\'s own Services');
  const long = shadowServiceName('a'.repeat(63), 'b'.repeat(63));
  assert.equal(long.length, 63);
  assert.match(long, /^b{43}-a{10}-[a-z0-9]{8}$/);
  assert.match(shadowServiceName('default', 'x'.repeat(60)), /^x{46}-default-[a-z0-9]{8}$/);
  assert.match(shadowServiceName('Weird_NS', '9lives'), /^s9lives-weird-ns-[a-z0-9]{8}$/);
});

test('shadow names: always a valid DNS-1035 label of at most 63, deterministic, for any input', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), (namespace, name) => {
    const n = shadowServiceName(namespace, name);
    assert.ok(n.length <= 63, n);
    assert.match(n, DNS1035);
    assert.equal(shadowServiceName(namespace, name), n);
  }), { numRuns: 2000 });
});

test('shadow names: distinct for distinct Services over a large sample', () => {
  const pairs = fc.sample(fc.tuple(namespaceArb, labelArb), { numRuns: 30_000, seed: 42 });
  // Adversarial neighbours: the same text split differently, and long shared prefixes.
  for (let i = 0; i < 500; i++) {
    pairs.push([`n-${i}`, 'svc'], ['n', `${i}-svc`], ['team', `${'p'.repeat(60)}${i}`], [`${'q'.repeat(60)}${i}`, 'web']);
  }
  const byName = new Map<string, string>();
  for (const [namespace, name] of pairs) {
    const id = `${namespace}/${name}`;
    const shadow = shadowServiceName(namespace, name);
    const seen = byName.get(shadow);
    assert.ok(seen === undefined || seen === id, `${seen} and ${id} both map to ${shadow}`);
    byName.set(shadow, id);
  }
  assert.ok(byName.size > 25_000);
});

test('buildShadowService: same ports targeting proxy ports, proxy selector, Local traffic, annotations', () => {
  const original = service('shop', 'web', {
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 },
      { name: 'sctp', port: 9, protocol: 'SCTP' },
      { name: 'unallocated', port: 8443 },
    ],
  });
  const proxyPorts = new Map([['shop/web:80', 10_001], ['shop/web:53', 10_002], ['shop/web:9', 10_003]]);
  const shadow = buildShadowService(original, proxyPorts, options)!;
  assert.deepEqual(shadow, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web-shop',
      namespace: 'hostmesh',
      labels: { [MANAGED_BY_LABEL]: 'hostmesh' },
      annotations: { [SHADOW_OF_ANNOTATION]: 'shop/web', [SHADOW_PORTS_ANNOTATION]: '{"53/TCP":10002,"53/UDP":10002,"80/TCP":10001}' },
    },
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'hostmesh-proxy' },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 10_001 },
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 10_002 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 10_002 },
      ],
      internalTrafficPolicy: 'Local',
    },
  });
  assert.equal(buildShadowService(original, new Map(), options), undefined, 'no allocated port, no shadow');
  const dual = { ...original, spec: { ...original.spec, ipFamilyPolicy: 'PreferDualStack' } } as ServiceObject;
  assert.equal((buildShadowService(dual, proxyPorts, options)!.spec as { ipFamilyPolicy?: string }).ipFamilyPolicy, 'PreferDualStack');
});

test('readShadowState reloads allocations and ClusterIPs, ignoring malformed and conflicting shadows', () => {
  const allocations = new Map([['shop/web:80', 10_001], ['shop/web:53', 10_002], ['team-a/api:8080', 10_003]]);
  const withIp = (svc: ServiceObject, ip: string): ServiceObject => ({ ...svc, spec: { ...svc.spec, clusterIP: ip, clusterIPs: [ip] } });
  const web = withIp(buildShadowService(service('shop', 'web', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 53, protocol: 'UDP' }] }), allocations, options)!, '10.96.0.40');
  const api = withIp(buildShadowService(service('team-a', 'api', { ports: [{ port: 8080 }] }), allocations, options)!, '10.96.0.41');
  const malformed = (name: string, annotations: Record<string, string>): ServiceObject => ({
    metadata: { name, namespace: 'hostmesh', labels: { [MANAGED_BY_LABEL]: 'hostmesh' }, annotations },
    spec: { clusterIP: '10.96.0.99', ports: [{ port: 1 }] },
  });
  const state = readShadowState([
    api,
    web,
    service('hostmesh', 'hostmesh-dns', { labels: { [MANAGED_BY_LABEL]: 'hostmesh' } }), // not a shadow: no shadow-of
    malformed('bad-json', { [SHADOW_OF_ANNOTATION]: 'x/y', [SHADOW_PORTS_ANNOTATION]: '{80:1' }),
    malformed('bad-owner', { [SHADOW_OF_ANNOTATION]: 'nope', [SHADOW_PORTS_ANNOTATION]: '{}' }),
    malformed('bad-key', { [SHADOW_OF_ANNOTATION]: 'x/y', [SHADOW_PORTS_ANNOTATION]: '{"80/SCTP":10009}' }),
    malformed('bad-value', { [SHADOW_OF_ANNOTATION]: 'x/y', [SHADOW_PORTS_ANNOTATION]: '{"80/TCP":70000}' }),
    malformed('split', { [SHADOW_OF_ANNOTATION]: 'x/y', [SHADOW_PORTS_ANNOTATION]: '{"53/TCP":10010,"53/UDP":10011}' }),
    malformed('aaa-copy-of-web', { [SHADOW_OF_ANNOTATION]: 'shop/web', [SHADOW_PORTS_ANNOTATION]: '{"80/TCP":10020}' }),
    malformed('steals-port', { [SHADOW_OF_ANNOTATION]: 'other/svc', [SHADOW_PORTS_ANNOTATION]: '{"80/TCP":10001,"81/TCP":10030}' }),
  ]);
  assert.deepEqual([...state.allocations].toSorted(), [
    ['other/svc:81', 10_030], ['shop/web:53', 10_002], ['shop/web:80', 10_001], ['team-a/api:8080', 10_003],
  ]);
  assert.deepEqual(state.clusterIPs.get('shop/web'), ['10.96.0.40']);
  assert.deepEqual(state.clusterIPs.get('team-a/api'), ['10.96.0.41']);
  assert.equal(state.shadows.get('shop/web')!.metadata.name, 'web-shop', 'the shadow with the expected name wins');
  const codes = state.diagnostics.map((d) => `${d.code} ${d.service}`).toSorted();
  assert.deepEqual(codes, [
    'SHADOW_DUPLICATE hostmesh/aaa-copy-of-web',
    'SHADOW_MALFORMED hostmesh/bad-json',
    'SHADOW_MALFORMED hostmesh/bad-key',
    'SHADOW_MALFORMED hostmesh/bad-owner',
    'SHADOW_MALFORMED hostmesh/bad-value',
    'SHADOW_MALFORMED hostmesh/split',
    'SHADOW_PORT_CONFLICT hostmesh/steals-port',
  ]);
  assert.match(state.diagnostics.find((d) => d.service === 'hostmesh/split')!.message, /maps port 53 to both 10010 and 10011/);
});

test('diffShadowServices against the fake API server: create, converge with no write loop, update, delete, conflicts', async (t) => {
  const fake = await startFakeApiServer(t);
  const core = fake.kubeconfig().makeApiClient(CoreV1Api);
  const existing = async (): Promise<ServiceObject[]> =>
    (await core.listNamespacedService({ namespace: 'hostmesh' })).items as unknown as ServiceObject[];
  const apply = async (diff: ReturnType<typeof diffShadowServices>): Promise<void> => {
    for (const svc of diff.create) await core.createNamespacedService({ namespace: 'hostmesh', body: svc as V1Service });
    for (const svc of diff.update) await core.replaceNamespacedService({ namespace: 'hostmesh', name: svc.metadata.name, body: svc as V1Service });
    for (const svc of diff.delete) await core.deleteNamespacedService({ namespace: 'hostmesh', name: svc.metadata.name });
  };
  // Someone else's Service that happens to have a shadow's name, and one of the mesh's own.
  fake.create('services', service('hostmesh', 'db-shop'));
  fake.create('services', service('hostmesh', 'hostmesh-dns', { labels: { [MANAGED_BY_LABEL]: 'hostmesh' } }));

  const originals = [service('shop', 'web'), service('shop', 'db'), service('team-a', 'api', { ports: [{ name: 'grpc', port: 9000 }, { name: 'metrics', port: 9100 }] })];
  let ports = new Map([['shop/web:80', 10_001], ['shop/db:80', 10_002], ['team-a/api:9000', 10_003], ['team-a/api:9100', 10_004]]);
  const desired = (): ServiceObject[] => originals.map((o) => buildShadowService(o, ports, options)!);

  let diff = diffShadowServices(desired(), await existing());
  assert.deepEqual(diff.create.map((s) => s.metadata.name).toSorted(), [shadowServiceName('team-a', 'api'), 'web-shop']);
  assert.deepEqual(diff.conflicts.map((c) => c.service), ['hostmesh/db-shop']);
  assert.deepEqual([diff.update, diff.delete], [[], []]);
  await apply(diff);

  // Read back with the server's defaults (ClusterIP, sessionAffinity, ipFamilies...): nothing to do.
  const afterCreate = await existing();
  diff = diffShadowServices(desired(), afterCreate);
  assert.deepEqual([diff.create, diff.update, diff.delete], [[], [], []]);
  const reloaded = readShadowState(afterCreate);
  assert.deepEqual([...reloaded.allocations].toSorted(), [['shop/web:80', 10_001], ['team-a/api:9000', 10_003], ['team-a/api:9100', 10_004]]);
  assert.match(reloaded.clusterIPs.get('shop/web')![0]!, /^10\.96\./);

  // A moved port and a removed Service: one update (keeping the ClusterIP), one delete.
  const ipBefore = afterCreate.find((s) => s.metadata.name === 'web-shop')!.spec!.clusterIP;
  ports = new Map([...ports, ['shop/web:80', 10_005]]);
  originals.splice(2, 1);
  diff = diffShadowServices(desired(), await existing());
  assert.deepEqual(diff.update.map((s) => s.metadata.name), ['web-shop']);
  assert.equal(diff.update[0]!.spec!.clusterIP, ipBefore);
  assert.ok(diff.update[0]!.metadata.resourceVersion, 'updates carry the resourceVersion they were based on');
  assert.deepEqual(diff.delete.map((s) => s.metadata.name), [shadowServiceName('team-a', 'api')]);
  await apply(diff);
  diff = diffShadowServices(desired(), await existing());
  assert.deepEqual([diff.create, diff.update, diff.delete], [[], [], []]);
  assert.equal((await core.readNamespacedService({ namespace: 'hostmesh', name: 'web-shop' })).spec!.ports![0]!.targetPort, 10_005);

  // Labels and annotations others add are kept and do not cause updates; edits to owned fields are undone.
  await core.patchNamespacedService({ namespace: 'hostmesh', name: 'web-shop', body: [
    { op: 'add', path: '/metadata/labels/team', value: 'platform' },
    { op: 'replace', path: '/spec/internalTrafficPolicy', value: 'Cluster' },
  ] });
  diff = diffShadowServices(desired(), await existing());
  assert.equal(diff.update.length, 1);
  assert.equal(diff.update[0]!.metadata.labels!.team, 'platform');
  await apply(diff);
  assert.deepEqual(diffShadowServices(desired(), await existing()).update, []);
  assert.ok(fake.get('services', 'hostmesh-dns', 'hostmesh'), 'the mesh\'s own Services are never deleted');

  const twin = { ...buildShadowService(service('shop', 'web'), ports, options)!, metadata: { ...desired()[1]!.metadata, annotations: { [SHADOW_OF_ANNOTATION]: 'shop/other' } } };
  assert.equal(diffShadowServices([...desired(), twin], await existing()).conflicts.filter((c) => /want the shadow name/.test(c.reason)).length, 1);
});

test('the resync\'s diff in slices yields between slices and plans what the diff in one go plans', async () => {
  const opts = { meshNamespace: 'hostmesh', proxySelector: { app: 'proxy' } };
  const originals = Array.from({ length: 60 }, (_, i) => service('shop', `s${i}`, { ports: [{ name: 'http', port: 80 }] }));
  const ports = new Map(originals.map((s, i) => [`shop/s${i}:80` as const, 20000 + i]));
  const desired = originals.map((s) => buildShadowService(s, ports, opts)!);
  // Existing: most up to date, some with another port (updates), some missing (creates), some
  // no longer wanted (deletes), one foreign Service in the way (a conflict).
  const existing: ServiceObject[] = [
    ...desired.slice(0, 40).map((d, i) => (i % 7 === 0 ? { ...d, spec: { ...d.spec, ports: [{ name: 'http', port: 80, targetPort: 1 }] } } : d)),
    buildShadowService(service('gone', 'old', { ports: [{ name: 'http', port: 80 }] }), new Map([['gone/old:80', 30000]]), opts)!,
    { metadata: { name: desired[45]!.metadata.name, namespace: 'hostmesh' }, spec: {} },
  ];
  let turns = 0;
  const ticking = setInterval(() => turns++, 0);
  const sliced = await diffShadowServicesInSlices(desired, existing, 7);
  clearInterval(ticking);
  assert.deepEqual(sliced, diffShadowServices(desired, existing));
  assert.deepEqual([sliced.create.length, sliced.update.length, sliced.delete.length, sliced.conflicts.length], [19, 6, 1, 1]);
  assert.ok(turns > 0, 'other work ran between the slices');
});
