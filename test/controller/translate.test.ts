import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TABLE_FORMAT, formatProblems, validateTable } from '../../src/table/index.ts';
import type { PortId } from '../../src/table/index.ts';
import { translate } from '../../src/controller/translation/translate.ts';
import { emptyMemory } from '../../src/controller/translation/types.ts';
import type { TranslateOptions, TranslationMemory } from '../../src/controller/translation/types.ts';
import type { ClusterState, ServiceObject } from '../../src/controller/objects.ts';
import { checkBrackets } from './support/expressions.ts';
import { state } from './support/arbitraries.ts';

const OPTIONS: TranslateOptions = { mode: 'standalone', portRange: [15000, 15019], checkExpression: checkBrackets };

function run(state: ClusterState, memory: TranslationMemory = emptyMemory(), ports: ReadonlyMap<PortId, number> = new Map(), options = OPTIONS) {
  return translate({ state, memory, ports, options });
}

function assertValid(content: ReturnType<typeof run>['content']): void {
  const table = { format: TABLE_FORMAT, epoch: 't', version: 1, generatedAt: '1970-01-01T00:00:00.000Z', ...content };
  const v = validateTable(JSON.parse(JSON.stringify(table)));
  assert.ok(v.ok, v.ok ? '' : formatProblems(v.problems));
}

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
