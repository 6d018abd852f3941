import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TABLE_FORMAT, formatProblems, validateTable } from '../../src/table/index.ts';
import type { PortId } from '../../src/table/index.ts';
import { translate } from '../../src/controller/translation/translate.ts';
import { emptyMemory } from '../../src/controller/translation/types.ts';
import type { TranslateOptions, TranslationMemory } from '../../src/controller/translation/types.ts';
import type { ClusterState, EndpointSliceObject, ServiceObject } from '../../src/controller/objects.ts';
import { checkBrackets } from './support/expressions.ts';

const OPTIONS: TranslateOptions = { mode: 'standalone', portRange: [15000, 15019], checkExpression: checkBrackets };

function run(state: ClusterState, memory: TranslationMemory = emptyMemory(), ports: ReadonlyMap<PortId, number> = new Map(), options = OPTIONS) {
  return translate({ state, memory, ports, options });
}

function assertValid(content: ReturnType<typeof run>['content']): void {
  const table = { format: TABLE_FORMAT, epoch: 't', version: 1, generatedAt: '1970-01-01T00:00:00.000Z', ...content };
  const v = validateTable(JSON.parse(JSON.stringify(table)));
  assert.ok(v.ok, v.ok ? '' : formatProblems(v.problems));
}

// Generators: few names so Services refer to each other; mostly valid values with some that are
// invalid or not of the expected type at all; slices mostly for Services that exist.
const mostly = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: odd, weight: 1 });
const namespace = mostly(fc.constant('a'), fc.constantFrom('b', 'kube-system'));
const name = fc.constantFrom('x', 'y', 'z', 'w');
const annotationPair = mostly(
  fc.constantFrom<[string, string]>(
    ['hostmesh.io/traffic-type', 'tcp'], ['hostmesh.io/traffic-type', 'udp'], ['mesh.traefik.io/traffic-type', 'tcp'],
    ['hostmesh.io/scheme', 'h2c'], ['hostmesh.io/dial-timeout', '2s'], ['hostmesh.io/retry-count', '3'], ['mesh.traefik.io/retry-attempts', '2'],
    ['hostmesh.io/retry-on', "path('/a')"], ['hostmesh.io/load-balancer', 'cookie'], ['hostmesh.io/load-balancer', 'header:X'],
    ['hostmesh.io/rate-limit-rate', '10r/s'], ['hostmesh.io/traffic-split-weights', 'x=1,y=1'], ['hostmesh.io/traffic-split-weights', 'y=0,z=2,w=1'],
    ['hostmesh.io/traffic-split-expression', "header({'a': 'b'})"], ['hostmesh.io/traffic-split-new-service', 'y'],
    ['hostmesh.io/traffic-split-old-service', 'z'], ['hostmesh.io/mirror-service', 'w'], ['hostmesh.io/mirror-service', 'x'],
    ['hostmesh.io/mirror-percent', '50'], ['hostmesh.io/sticky-cookie', 's'], ['hostmesh.io/maintenance', 'true'],
    ['hostmesh.io/circuit-breaker-expression', 'NetworkErrorRatio() > 0.5'], ['hostmesh.io/mesh', 'false'],
  ),
  fc.tuple(fc.constantFrom('hostmesh.io/dial-timeout', 'hostmesh.io/retry-on', 'hostmesh.io/mesh', 'hostmesh.io/traffic-split-weights', 'hostmesh.io/bogus'),
    fc.oneof(fc.constantFrom('soon', '-1', 'method(', '', 'x=0'), fc.string({ maxLength: 6 }))),
);
const preset = fc.constantFrom<Record<string, string>>(
  {},
  {},
  { 'hostmesh.io/traffic-split-expression': "header({'a': 'b'})", 'hostmesh.io/traffic-split-new-service': 'y', 'hostmesh.io/traffic-split-old-service': 'z' },
  { 'mesh.caddyserver.com/traffic-split-expression': 'true', 'mesh.caddyserver.com/traffic-split-new-service': 'w' },
  { 'hostmesh.io/traffic-split-weights': 'x=1,y=1,z=1' },
  { 'hostmesh.io/mirror-service': 'w', 'hostmesh.io/mirror-percent': '10' },
);
const annotations = fc.tuple(preset, fc.array(annotationPair, { maxLength: 3 })).map(([p, pairs]) => ({ ...p, ...Object.fromEntries(pairs) }));
const port = fc.record({
  name: fc.constantFrom('http', 'grpc', 'dns', '', undefined),
  port: mostly(fc.constantFrom(1, 1, 1, 2, 3), fc.constantFrom(0, 70000, '80' as unknown as number)),
  targetPort: mostly(fc.constantFrom(1, 2, 8080, 'http', 'grpc', undefined), fc.constantFrom('', 0)),
  protocol: mostly(fc.constantFrom('TCP', 'TCP', 'UDP', undefined, undefined), fc.constantFrom('SCTP', 'udp')),
  appProtocol: fc.constantFrom('kubernetes.io/h2c', 'https', undefined),
}).map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as NonNullable<NonNullable<ServiceObject['spec']>['ports']>[number]);
const service: fc.Arbitrary<ServiceObject> = fc.record({
  namespace,
  name,
  annotations,
  managed: mostly(fc.constant(false), fc.constant(true)),
  type: mostly(fc.constant(undefined), fc.constant('ExternalName')),
  ports: mostly(fc.array(mostly(port, fc.constant(null as never)), { minLength: 1, maxLength: 3 }), fc.constant(undefined)),
}).map((s) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: s.name,
    namespace: s.namespace,
    annotations: s.annotations,
    ...(s.managed ? { labels: { 'app.kubernetes.io/managed-by': 'hostmesh' } } : {}),
  },
  spec: { ...(s.type ? { type: s.type } : {}), ...(s.ports ? { ports: s.ports } : {}) },
}));
const slice = (namespace: string, owner: string): fc.Arbitrary<EndpointSliceObject> => fc.record({
  suffix: fc.integer({ min: 0, max: 3 }),
  addressType: mostly(fc.constantFrom('IPv4', 'IPv6', undefined), fc.constant('FQDN')),
  endpoints: fc.array(fc.record({
    addresses: fc.array(mostly(fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1'), fc.constantFrom('pod.local', '', '999.1.1.1')), { minLength: 1, maxLength: 2 }),
    ready: fc.constantFrom(true, true, false, null, undefined),
  }), { maxLength: 3 }),
  ports: mostly(fc.array(fc.record({
    name: fc.constantFrom('http', 'grpc', '', null, undefined),
    port: mostly(fc.constantFrom(1, 2, 8080, null), fc.constant(0)),
    protocol: fc.constantFrom('TCP', 'UDP', undefined),
  }), { maxLength: 3 }), fc.constant(null as never)),
}).map((s) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${owner}-${s.suffix}`, namespace, labels: { 'kubernetes.io/service-name': owner } },
  ...(s.addressType ? { addressType: s.addressType } : {}),
  endpoints: s.endpoints.map((e) => ({ addresses: e.addresses, ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
  ports: s.ports as EndpointSliceObject['ports'],
}));
const state: fc.Arbitrary<ClusterState> = fc.array(service, { minLength: 2, maxLength: 8 }).chain((services) => fc.record({
  services: fc.constant(services),
  endpointSlices: fc.array(fc.oneof(
    { arbitrary: fc.constantFrom(...(services.length ? services : [undefined])).chain((s) => slice(s?.metadata.namespace ?? 'a', s?.metadata.name ?? 'x')), weight: 4 },
    { arbitrary: fc.tuple(namespace, name).chain(([ns, n]) => slice(ns, n)), weight: 1 },
  ), { maxLength: 6 }),
}));

test('property: any input gives a table the proxy accepts, with sorted, sane output', () => {
  fc.assert(fc.property(state, (s) => {
    const r = run(s);
    assertValid(r.content);
    for (const l of r.content.listeners) assert.ok(l.port >= 15000 && l.port <= 15019);
    const ids = r.content.routes.map((x) => x.id);
    assert.deepEqual(r.content.listeners.map((l) => l.port), r.content.listeners.map((l) => l.port).toSorted((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length);
    for (const d of r.diagnostics) assert.ok(d.message.length > 0 && d.code.length > 0);
    for (const id of r.memory.settings.keys()) assert.ok(s.services.some((x) => `${x.metadata.namespace}/${x.metadata.name}` === id));
  }), { numRuns: 400 });
});

test('property: translating the same input again, with the previous result, changes nothing', () => {
  fc.assert(fc.property(state, (s) => {
    const first = run(s);
    const second = run(s, first.memory, first.ports);
    assert.deepEqual(second.content, first.content);
    assert.deepEqual(second.diagnostics, first.diagnostics);
  }), { numRuns: 200 });
});

test('property: one more invalid annotation on any Service changes nothing in the table', () => {
  fc.assert(fc.property(state, fc.nat(), (s, pick) => {
    fc.pre(s.services.length > 0);
    const first = run(s);
    const i = pick % s.services.length;
    const target = s.services[i]!;
    const broken: ServiceObject = {
      ...target,
      metadata: { ...target.metadata, annotations: { ...target.metadata.annotations, 'hostmesh.io/read-timeout': 'a while' } },
    };
    const services = s.services.with(i, broken);
    const second = run({ ...s, services }, first.memory, first.ports);
    assert.deepEqual(second.content, first.content);
  }), { numRuns: 300 });
});

const svc = (ns: string, n: string, annotations?: Record<string, string>, ports: ServiceObject['spec'] = { ports: [{ port: 80 }] }): ServiceObject => ({
  metadata: { name: n, namespace: ns, ...(annotations ? { annotations } : {}) },
  spec: ports,
});

test('memory forgets deleted Services, so a re-created one with a bad annotation starts from the defaults', () => {
  const good = run({ services: [svc('t', 's', { 'hostmesh.io/dial-timeout': '1s' })], endpointSlices: [] });
  assert.equal(good.content.clusters[0]!.dialTimeoutMs, 1000);
  assert.equal(good.memory.settings.size, 1);
  const gone = run({ services: [], endpointSlices: [] }, good.memory, good.ports);
  assert.equal(gone.memory.settings.size, 0);
  const back = run({ services: [svc('t', 's', { 'hostmesh.io/dial-timeout': 'x' })], endpointSlices: [] }, gone.memory, gone.ports);
  assert.equal(back.content.clusters[0]!.dialTimeoutMs, 3000);
});

test('an opted-out Service that comes back with a bad annotation keeps its last good settings', () => {
  const start = run({ services: [svc('t', 's', { 'hostmesh.io/dial-timeout': '1s' })], endpointSlices: [] });
  const out = run({ services: [svc('t', 's', { 'hostmesh.io/mesh': 'false', 'hostmesh.io/dial-timeout': '1s' })], endpointSlices: [] }, start.memory, start.ports);
  assert.deepEqual(out.content.routes, []);
  const back = run({ services: [svc('t', 's', { 'hostmesh.io/dial-timeout': 'x' })], endpointSlices: [] }, out.memory, out.ports);
  assert.equal(back.content.clusters[0]!.dialTimeoutMs, 1000);
});

test('the mesh namespace and the system namespaces are never meshed by default', () => {
  const r = run({ services: ['hostmesh', 'kube-system', 'kube-public', 'kube-node-lease', 'app'].map((ns) => svc(ns, 's')), endpointSlices: [] });
  assert.deepEqual(r.content.routes.map((x) => x.id), ['app/s:80']);
  const custom = run({ services: [svc('hostmesh', 's'), svc('mesh', 's'), svc('kube-system', 's')], endpointSlices: [] }, emptyMemory(), new Map(),
    { ...OPTIONS, meshNamespace: 'mesh', ignoreNamespaces: [] });
  assert.deepEqual(custom.content.routes.map((x) => x.id), ['hostmesh/s:80', 'kube-system/s:80']);
});

test('ports allocated before (e.g. loaded from shadow Services) are kept', () => {
  const r = run({ services: [svc('t', 'a'), svc('t', 'b')], endpointSlices: [] }, emptyMemory(), new Map([['t/b:80', 15010]]));
  assert.deepEqual(r.content.listeners.map((l) => [l.port, l.route]), [[15000, 't/a:80'], [15010, 't/b:80']]);
  assert.deepEqual([...r.ports].toSorted(), [['t/a:80', 15000], ['t/b:80', 15010]]);
});

test('a port\'s appProtocol picks the scheme: kubernetes.io/h2c and grpc speak h2c, https TLS, others http', () => {
  const ports = [['kubernetes.io/h2c', 81], ['grpc', 82], ['https', 83], ['http', 84]] as const;
  const r = run({ services: [svc('t', 's', undefined, { ports: ports.map(([appProtocol, port]) => ({ port, appProtocol })) })], endpointSlices: [] });
  assert.deepEqual(r.content.clusters.map((x) => [x.id, x.scheme]), [['t/s:81', 'h2c'], ['t/s:82', 'h2c'], ['t/s:83', 'https'], ['t/s:84', 'http']]);
});

test('cluster mode DNS names the shadow addresses and the Service ports', () => {
  const r = run({ services: [svc('t', 'a'), svc('t', 'b')], endpointSlices: [] }, emptyMemory(), new Map(),
    { ...OPTIONS, mode: 'cluster', shadowAddresses: new Map([['t/a', ['10.96.0.9']]]) });
  assert.deepEqual(r.content.dns.services, [{ namespace: 't', name: 'a', addresses: ['10.96.0.9'], ports: [{ name: '', protocol: 'tcp', port: 80 }] }]);
  assert.equal(r.content.routes.length, 2, 'routing does not wait for DNS');
});

test('unchanged annotations are not parsed again, but a change is always seen, even made in place', () => {
  const annotations: Record<string, string> = { 'hostmesh.io/retry-on': 'a(' };
  const s = { services: [svc('t', 's', annotations), svc('t', 'r', { 'hostmesh.io/retry-count': '1' })], endpointSlices: [] };
  let calls = 0;
  const counting: TranslateOptions['checkExpression'] = (source, context) => { calls++; return checkBrackets(source, context); };
  const options = { ...OPTIONS, checkExpression: counting };
  const first = run(s, emptyMemory(), new Map(), options);
  assert.equal(calls, 1);
  assert.equal(first.diagnostics.filter((d) => d.code === 'annotation-invalid-expression').length, 1);
  const second = run(s, first.memory, first.ports, options);
  assert.equal(calls, 1, 'the unchanged Service was not parsed again');
  assert.deepEqual(second.diagnostics, first.diagnostics);

  annotations['hostmesh.io/retry-on'] = 'a()';
  annotations['hostmesh.io/retry-count'] = '2';
  const third = run(s, second.memory, second.ports, options);
  assert.equal(calls, 2);
  assert.deepEqual(third.diagnostics, []);
  assert.equal(third.content.routes.find((r) => r.id === 't/s:80')?.retry?.on, 'a()');

  // Another checker (the lead wiring the real compiler) means everything is checked again.
  const other = run(s, third.memory, third.ports, { ...OPTIONS, checkExpression: () => ({ code: 'x', message: 'no', column: 1 }) });
  assert.equal(other.diagnostics.filter((d) => d.code === 'annotation-invalid-expression').length, 1);
});
