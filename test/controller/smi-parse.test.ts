/** The SMI readers (translation/smi/parse.ts, quantity.ts): properties over every kind and version, and examples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSmiObject } from '../../src/controller/translation/smi/parse.ts';
import { parseQuantity } from '../../src/controller/translation/smi/quantity.ts';
import { SMI_VERSIONS } from '../../src/controller/translation/smi/model.ts';
import type { SmiKind } from '../../src/controller/translation/smi/model.ts';
import { toHttpMatch } from '../../src/controller/translation/smi/matches.ts';

const kinds = Object.entries(SMI_VERSIONS).flatMap(([kind, s]) => s.versions.map((v) => ({ kind: kind as SmiKind, apiVersion: `${s.group}/${v}` })));
const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);

test('any value under any SMI kind and version is read or refused with a problem, never thrown', () => {
  fc.assert(fc.property(fc.constantFrom(...kinds), fc.anything({ withNullPrototype: true, maxDepth: 4 }), fc.anything({ maxDepth: 4 }), (k, spec, top) => {
    const value = { apiVersion: k.apiVersion, kind: k.kind, metadata: { name: 'x', namespace: 'ns' }, spec, matches: top, destination: top, sources: top, specs: top };
    const r = parseSmiObject(value);
    if (r.ok) assert.equal(r.object.kind, k.kind);
    else assert.ok(typeof r.problem === 'string' && r.problem.length > 0);
  }), { numRuns: 1500 });
});

test('a TrafficSplit of v1alpha2 and later keeps its whole weights; v1alpha1 quantities keep their ratios', () => {
  const backends = fc.array(fc.record({ service: nameArb, weight: fc.integer({ min: 0, max: 100_000 }) }), { minLength: 1, maxLength: 6 });
  fc.assert(fc.property(fc.constantFrom('v1alpha2', 'v1alpha3', 'v1alpha4'), nameArb, backends, (v, service, list) => {
    const r = parseSmiObject({ apiVersion: `split.smi-spec.io/${v}`, kind: 'TrafficSplit', metadata: { name: 's' }, spec: { service, backends: list } });
    assert.ok(r.ok, r.ok ? '' : r.problem);
    assert.equal(r.object.kind, 'TrafficSplit');
    if (r.object.kind === 'TrafficSplit') assert.deepEqual(r.object.backends, list.map((b) => ({ service: b.service, weight: b.weight })));
  }));
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 2, maxLength: 5 }), (millis) => {
    const list = millis.map((m, i) => ({ service: `b${i}`, weight: i % 2 === 0 ? `${m}m` : m / 1000 }));
    const r = parseSmiObject({ apiVersion: 'split.smi-spec.io/v1alpha1', kind: 'TrafficSplit', metadata: { name: 's' }, spec: { service: 'root', backends: list } });
    assert.ok(r.ok && r.object.kind === 'TrafficSplit');
    const got = r.object.backends.map((b) => b.weight);
    // Same ratios: w_i * m_j == w_j * m_i.
    for (let i = 1; i < millis.length; i++) assert.equal(got[i]! * millis[0]!, got[0]! * millis[i]!);
    assert.ok(got.every((w) => Number.isInteger(w) && w >= 1));
  }));
});

test('quantities: integers, thousandths, suffixes and exponents', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), (n) => {
    assert.equal(parseQuantity(String(n)), n);
    assert.equal(parseQuantity(`${n}m`), n / 1000);
    assert.equal(parseQuantity(`${n}k`), n * 1000);
  }));
  assert.equal(parseQuantity('1Ki'), 1024);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity('2e3'), 2000);
  for (const bad of ['', 'm', '1x', '--1', '1 m', 'Infinity', '1e999']) assert.equal(parseQuantity(bad), undefined, bad);
});

test('HTTPRouteGroup: v1alpha2 (top level, header list) and v1alpha4 (spec, header map) read alike', () => {
  const matchArb = fc.record({
    name: nameArb,
    pathRegex: fc.option(fc.constantFrom('/api', '/metrics', '.*', '/v[0-9]+/.*'), { nil: undefined }),
    methods: fc.option(fc.subarray(['GET', 'POST', '*', 'HEAD'], { minLength: 1 }), { nil: undefined }),
    headers: fc.option(fc.dictionary(fc.constantFrom('user-agent', 'cookie', 'x-a'), fc.constantFrom('.*Firefox.*', 'a', '^b$'), { minKeys: 1 }), { nil: undefined }),
  }, { requiredKeys: ['name'] });
  fc.assert(fc.property(fc.uniqueArray(matchArb, { selector: (m) => m.name, maxLength: 5 }), (matches) => {
    const clean = matches.map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)));
    const old = parseSmiObject({
      apiVersion: 'specs.smi-spec.io/v1alpha2', kind: 'HTTPRouteGroup', metadata: { name: 'g' },
      matches: clean.map((m) => (m.headers ? { ...m, headers: Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) } : m)),
    });
    const now = parseSmiObject({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'g' }, spec: { matches: clean } });
    assert.ok(old.ok && now.ok);
    assert.deepEqual({ ...old.object, apiVersion: '' }, { ...now.object, apiVersion: '' });
    assert.deepEqual(old.notes, []);
  }));
});

test('TrafficTarget: v1alpha1 top-level fields and `specs`, v1alpha2+ under spec, defaults and refusals', () => {
  const v1 = parseSmiObject({
    apiVersion: 'access.smi-spec.io/v1alpha1', kind: 'TrafficTarget', metadata: { name: 't', namespace: 'ns' },
    destination: { kind: 'ServiceAccount', name: 'server', port: '80' },
    specs: [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['api'] }],
    sources: [{ kind: 'ServiceAccount', name: 'client', namespace: 'other' }, { name: 'local' }],
  });
  assert.ok(v1.ok);
  assert.deepEqual(v1.object, {
    kind: 'TrafficTarget', apiVersion: 'access.smi-spec.io/v1alpha1', namespace: 'ns', name: 't',
    destination: { namespace: 'ns', serviceAccount: 'server', port: 80 },
    rules: [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['api'] }],
    sources: [{ namespace: 'other', serviceAccount: 'client' }, { namespace: 'ns', serviceAccount: 'local' }],
  });
  // A v1alpha1 object served under v1alpha3 (no conversion): read with a note.
  const served = parseSmiObject({
    apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 't', namespace: 'ns' },
    destination: { kind: 'ServiceAccount', name: 'server' }, specs: [{ kind: 'TCPRoute', name: 'tcp' }], sources: [{ name: 'c' }],
  });
  assert.ok(served.ok);
  assert.equal(served.notes.length, 2);
  const binding = parseSmiObject({
    apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 't' },
    spec: { destination: { kind: 'IdentityBinding', name: 'server' }, rules: [], sources: [] },
  });
  assert.deepEqual(binding, { ok: false, problem: 'spec.destination.kind must be ServiceAccount, got "IdentityBinding" (IdentityBinding is not supported)' });
  const badPort = parseSmiObject({
    apiVersion: 'access.smi-spec.io/v1alpha2', kind: 'TrafficTarget', metadata: { name: 't' },
    spec: { destination: { name: 'server', port: 70000 }, rules: [], sources: [] },
  });
  assert.deepEqual(badPort, { ok: false, problem: 'spec.destination.port must be a port number, got 70000' });
});

test('TCPRoute and UDPRoute ports; unknown versions and kinds are refused by name', () => {
  const tcp = parseSmiObject({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'TCPRoute', metadata: { name: 'r' }, spec: { matches: { ports: [3306, 80, 3306] } } });
  assert.ok(tcp.ok);
  assert.deepEqual(tcp.object, { kind: 'TCPRoute', apiVersion: 'specs.smi-spec.io/v1alpha4', namespace: 'default', name: 'r', ports: [80, 3306] });
  const all = parseSmiObject({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'UDPRoute', metadata: { name: 'r' }, spec: { matches: { ports: [] } } });
  assert.ok(all.ok && all.object.kind === 'UDPRoute' && all.object.ports === undefined);
  assert.deepEqual(parseSmiObject({ apiVersion: 'specs.smi-spec.io/v1alpha3', kind: 'UDPRoute', metadata: { name: 'r' } }),
    { ok: false, problem: 'UDPRoute v1alpha3 is not a version hostmesh reads (it reads v1alpha4)' });
  assert.deepEqual(parseSmiObject({ apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 's' }, spec: { service: 'a', backends: [] } }),
    { ok: false, problem: 'spec.backends lists no backend' });
});

test('HTTPRouteGroup matches -> structured matches: prefix-anchored paths, any method, found-anywhere headers', () => {
  assert.deepEqual(toHttpMatch({ name: 'a', pathRegex: '/api', methods: ['get', 'GET'] }), { ok: true, match: { path: { type: 'RegularExpression', value: '(?:/api).*' }, methods: ['GET'] } });
  assert.deepEqual(toHttpMatch({ name: 'a', pathRegex: '/x$', methods: ['GET', '*'] }), { ok: true, match: { path: { type: 'RegularExpression', value: '/x$' } } });
  assert.deepEqual(toHttpMatch({ name: 'a', headers: [{ name: 'user-agent', regex: 'Firefox' }, { name: 'x', regex: '^a.*' }] }), {
    ok: true,
    match: { headers: [{ type: 'RegularExpression', name: 'user-agent', value: '.*(?:Firefox).*' }, { type: 'RegularExpression', name: 'x', value: '^a.*' }] },
  });
  const bad = toHttpMatch({ name: 'a', pathRegex: '(a+)+' });
  assert.equal(bad.ok, false);
});
