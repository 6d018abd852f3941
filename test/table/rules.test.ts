/**
 * Validation of the rule model (src/table/rule-check.ts): every field of a route rule and of
 * the identity map, problems naming the JSON path and the value, and properties over
 * generated rules (valid ones accepted; any change to one refused with a path, never thrown).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatProblems, identityKey, validateTable } from '../../src/table/index.ts';
import type { HttpFilter, HttpMatch, RouteRule, RoutingTable } from '../../src/table/index.ts';
import { cluster, simpleTable } from '../support/tables.ts';

const good = (): RoutingTable => simpleTable([
  { cluster: cluster('test', 'server', 80, [{ address: '10.0.0.1', port: 8080 }]), listenPort: 10001 },
  { cluster: cluster('test', 'canary', 80, [{ address: '10.0.0.2', port: 8080 }]), listenPort: 10002 },
  { cluster: cluster('test', 'db', 5432, [], { protocol: 'tcp' }), listenPort: 10003 },
]);

function withRule(rule: unknown): RoutingTable {
  const t = good();
  t.routes[0]!.rules = [rule as RouteRule];
  return t;
}

function problemsOf(t: RoutingTable): string {
  const r = validateTable(JSON.parse(JSON.stringify(t)));
  assert.equal(r.ok, false, 'expected the table to be refused');
  return r.ok ? '' : formatProblems(r.problems);
}

const ruleProblems = (rule: unknown): string => problemsOf(withRule(rule));
const to = [{ cluster: 'test/canary:80', weight: 1 }];

test('a rule using every field of the model is accepted', () => {
  const rule: RouteRule = {
    origin: 'HTTPRoute test/canary rules[0]',
    name: 'canary',
    matches: [
      { path: { type: 'PathPrefix', value: '/api' }, methods: ['GET', 'POST'], headers: [{ type: 'Exact', name: 'X-Version', value: 'v2' }], queryParams: [{ type: 'RegularExpression', name: 'q', value: '^a.*' }] },
      { path: { type: 'PathPrefix', value: '/v2/' } },
    ],
    clients: { namespaces: ['team-a'] },
    filters: [
      { type: 'requestHeaders', set: [{ name: 'X-A', value: '1' }], add: [{ name: 'X-B', value: '2' }], remove: ['X-C'] },
      { type: 'responseHeaders', set: [{ name: 'Set-Cookie', value: 'a=b' }] },
      { type: 'rewrite', hostname: 'example.com', path: { type: 'ReplacePrefixMatch', value: '/' } },
      { type: 'cors', allowOrigins: ['https://*.example.com', 'http://localhost:8080'], allowMethods: ['GET', '*'], allowHeaders: ['X-A'], exposeHeaders: ['X-B'], allowCredentials: true, maxAgeSeconds: 60 },
    ],
    backends: [
      { cluster: 'test/canary:80', weight: 90, filters: [{ type: 'requestHeaders', set: [{ name: 'X-Backend', value: 'canary' }] }] },
      { weight: 10, respond: { status: 500, reason: 'backend test/missing:80 not found' } },
    ],
    backendTimeoutMs: 500,
    requestTimeoutMs: 2000,
    retry: { count: 2, on: 'true', codes: [[502, 504]], backoffMs: 10 },
    stickyCookie: 'sticky',
    mirror: { cluster: 'test/server:80', percent: 50 },
  };
  const r = validateTable(withRule(rule));
  assert.equal(r.ok, true, r.ok ? '' : formatProblems(r.problems));
  // A redirect rule needs no backend.
  assert.equal(validateTable(withRule({ filters: [{ type: 'redirect', scheme: 'https', port: 8443, statusCode: 301 }], backends: [] })).ok, true);
  const withIds = good();
  withIds.identities = [{ address: '10.1.0.5', namespace: 'team-a', serviceAccount: 'default', pod: 'team-a/client-1' }, { address: 'fd00::5', namespace: 'b', serviceAccount: 'sa' }];
  assert.equal(validateTable(withIds).ok, true);
});

test('problems name the path of the rule field and the value', () => {
  const cases: [unknown, RegExp][] = [
    [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backends: to }, /\$\.routes\[0\]\.rules\[0\]\.matches\[0\]\.path\.type: must be one of Exact, PathPrefix, RegularExpression, got "Prefix"/],
    [{ matches: [{ path: { type: 'Exact', value: 'api' } }], backends: to }, /matches\[0\]\.path\.value: must start with \/, got "api"/],
    [{ matches: [{ path: { type: 'RegularExpression', value: '/a(' } }], backends: to }, /matches\[0\]\.path\.value: must be a regular expression, got "\/a\("/],
    [{ matches: [{ headers: [{ type: 'Exact', name: 'bad name', value: 'x' }] }], backends: to }, /matches\[0\]\.headers\[0\]\.name: must be a header name \(an HTTP token\), got "bad name"/],
    [{ matches: [{ headers: [{ type: 'Exact', name: 'X-A', value: 'x' }, { type: 'Exact', name: 'x-a', value: 'y' }] }], backends: to }, /headers\[1\]\.name: matches "x-a" twice/],
    [{ matches: [{ queryParams: [{ type: 'Glob', name: 'q', value: 'x' }] }], backends: to }, /queryParams\[0\]\.type: must be one of Exact, RegularExpression, got "Glob"/],
    [{ matches: [{ methods: ['GET POST'] }], backends: to }, /matches\[0\]\.methods\[0\]: must be a method \(an HTTP token\), got "GET POST"/],
    [{ matches: [], backends: to }, /rules\[0\]\.matches: must hold at least one match/],
    [{ match: 'true', matches: [{}], backends: to }, /rules\[0\]\.matches: a rule has match or matches, not both/],
    [{ clients: { namespaces: [''] }, backends: to }, /clients\.namespaces\[0\]: must not be empty/],
    [{ clients: {}, backends: to }, /rules\[0\]\.clients: needs namespaces or exceptNamespaces/],
    [{ backends: [] }, /rules\[0\]\.backends: must name at least one backend/],
    [{ backends: [{ cluster: 'test/nope:80', weight: 1 }] }, /rules\[0\]\.backends\[0\]\.cluster: names unknown cluster test\/nope:80/],
    [{ backends: [{ cluster: 'test/db:5432', weight: 1 }] }, /backends\[0\]\.cluster: cluster test\/db:5432 is tcp, the route is http/],
    [{ backends: [{ weight: 1, respond: { status: 99, reason: 'x' } }] }, /backends\[0\]\.respond\.status: must be an integer in 200\.\.599, got number 99/],
    [{ backends: [{ cluster: 'test/canary:80', weight: -1 }] }, /backends\[0\]\.weight: must be an integer in 0\.\.1000000, got number -1/],
    [{ backends: [{ cluster: 'test/canary:80', weight: 1, filters: [{ type: 'redirect', statusCode: 301 }] }] }, /backends\[0\]\.filters\[0\]\.type: a backend's filters may be requestHeaders, responseHeaders, rewrite, got "redirect"/],
    [{ filters: [{ type: 'requestHeaders', set: [{ name: 'X-A', value: 'a\r\nb' }] }], backends: to }, /filters\[0\]\.set\[0\]\.value: must not hold CR, LF or NUL/],
    [{ filters: [{ type: 'requestHeaders' }], backends: to }, /filters\[0\]: needs set, add or remove/],
    [{ filters: [{ type: 'redirect', statusCode: 300 }], backends: to }, /filters\[0\]\.statusCode: must be one of 301, 302, 303, 307, 308, got number 300/],
    [{ filters: [{ type: 'redirect', statusCode: 302, port: 0 }], backends: to }, /filters\[0\]\.port: must be an integer in 1\.\.65535, got number 0/],
    [{ filters: [{ type: 'redirect', statusCode: 302, hostname: 'a b' }], backends: to }, /filters\[0\]\.hostname: must be a hostname without port, got "a b"/],
    [{ filters: [{ type: 'rewrite', path: { type: 'ReplacePrefixMatch', value: '/x' } }], backends: to }, /filters\[0\]\.path\.type: ReplacePrefixMatch needs every match of the rule to have a PathPrefix path match/],
    [{ filters: [{ type: 'rewrite', path: { type: 'ReplaceFullPath', value: 'x' } }], backends: to }, /filters\[0\]\.path\.value: must be a path starting with \//],
    [{ filters: [{ type: 'redirect', statusCode: 302 }, { type: 'rewrite', hostname: 'a' }], backends: to }, /rules\[0\]\.filters: holds both a redirect and a rewrite/],
    [{ filters: [{ type: 'cors', allowOrigins: ['example.com'] }], backends: to }, /filters\[0\]\.allowOrigins\[0\]: must be \* or scheme:\/\/host\[:port\].*got "example\.com"/],
    [{ filters: [{ type: 'cors', allowOrigins: ['*'], allowCredentials: 'yes' }], backends: to }, /filters\[0\]\.allowCredentials: must be a boolean, got "yes"/],
    [{ filters: [{ type: 'mirror' }], backends: to }, /filters\[0\]\.type: must be one of requestHeaders, responseHeaders, redirect, rewrite, cors, got "mirror"/],
    [{ backendTimeoutMs: 0, backends: to }, /rules\[0\]\.backendTimeoutMs: must be an integer in 1\.\.86400000, got number 0/],
    [{ backendTimeoutMs: 5000, requestTimeoutMs: 1000, backends: to }, /backendTimeoutMs: must not exceed the rule's requestTimeoutMs 1000, got 5000/],
    // The policy modules validate the rule's policies, under the rule's path.
    [{ retry: { on: 'true', codes: [] }, backends: to }, /\$\.routes\[0\]\.rules\[0\]\.retry: needs count or durationMs/],
    [{ retry: { count: 1, on: 'true', codes: [], backoffMs: -1 }, backends: to }, /rules\[0\]\.retry\.backoffMs: must be an integer in 0\.\.86400000, got number -1/],
    [{ mirror: { cluster: 'test/nope:80', percent: 5 }, backends: to }, /rules\[0\]\.mirror: names unknown cluster test\/nope:80/],
    [{ stickyCookie: 'a b', backends: to }, /rules\[0\]\.stickyCookie: must be a cookie name/],
    [{ access: { sources: [] }, backends: to }, /rules\[0\]\.access: applies to the whole route, never to one rule/],
  ];
  for (const [rule, expected] of cases) assert.match(ruleProblems(rule), expected, JSON.stringify(rule));
});

test('identity map entries are validated, each address once', () => {
  const withIds = (ids: unknown): RoutingTable => ({ ...good(), identities: ids as RoutingTable['identities'] });
  assert.match(problemsOf(withIds([{ address: 'pod-a', namespace: 'a', serviceAccount: 's' }])), /\$\.identities\[0\]\.address: must be an IPv4 or IPv6 address, got "pod-a"/);
  assert.match(problemsOf(withIds([{ address: '10.0.0.1', namespace: '', serviceAccount: 's' }])), /\$\.identities\[0\]\.namespace: must not be empty/);
  assert.match(problemsOf(withIds([{ address: '10.0.0.1', namespace: 'a' }])), /\$\.identities\[0\]\.serviceAccount: must be a string, got undefined/);
  assert.match(problemsOf(withIds([{ address: '10.0.0.1', namespace: 'a', serviceAccount: 's' }, { address: '::ffff:10.0.0.1', namespace: 'b', serviceAccount: 's' }])), /\$\.identities\[1\]\.address: address ::ffff:10\.0\.0\.1 is listed twice/);
  assert.match(problemsOf(withIds({})), /\$\.identities: must be an array, got an object/);
});

test('identity keys unwrap IPv4-mapped IPv6 and lower-case IPv6', () => {
  assert.equal(identityKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(identityKey('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(identityKey('10.1.2.3'), '10.1.2.3');
  assert.equal(identityKey('FD00::A'), 'fd00::a');
});

// --- properties ------------------------------------------------------------------------

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,8}$/);
const pathValue = fc.stringMatching(/^(\/[a-z0-9]{1,5}){0,3}\/?$/).map((s) => (s === '' ? '/' : s));
const headerValue = fc.stringMatching(/^[ -~]{0,12}$/);
const valueMatch = fc.record({ type: fc.constantFrom('Exact' as const, 'RegularExpression' as const), name: token, value: fc.constantFrom('a', 'b.*', '^v[0-9]+$', 'x') });
const matchArb: fc.Arbitrary<HttpMatch> = fc.record({
  path: fc.oneof(
    fc.record({ type: fc.constant('PathPrefix' as const), value: pathValue }),
    fc.record({ type: fc.constant('Exact' as const), value: pathValue }),
    fc.record({ type: fc.constant('RegularExpression' as const), value: fc.constantFrom('/a/[0-9]+', '/.*', '/(x|y)') }),
  ),
  methods: fc.array(fc.constantFrom('GET', 'POST', 'PUT', '*'), { minLength: 1, maxLength: 3 }),
  headers: fc.uniqueArray(valueMatch, { maxLength: 2, selector: (m) => m.name.toLowerCase() }),
  queryParams: fc.uniqueArray(valueMatch, { maxLength: 2, selector: (m) => m.name }),
}, { requiredKeys: [] });
const headerPairs = fc.array(fc.record({ name: token, value: headerValue }), { maxLength: 2 });
const filterArb: fc.Arbitrary<HttpFilter> = fc.oneof(
  fc.record({ type: fc.constantFrom('requestHeaders' as const, 'responseHeaders' as const), set: headerPairs, add: headerPairs, remove: fc.array(token, { maxLength: 2 }) }),
  fc.record({ type: fc.constant('rewrite' as const), hostname: fc.constantFrom('example.com', 'a.b'), path: fc.record({ type: fc.constant('ReplaceFullPath' as const), value: pathValue }) }),
  fc.record({ type: fc.constant('cors' as const), allowOrigins: fc.array(fc.constantFrom('*', 'https://*.example.com', 'http://a.b:8080'), { minLength: 1, maxLength: 2 }), allowCredentials: fc.boolean(), maxAgeSeconds: fc.nat(1000) }, { requiredKeys: ['type', 'allowOrigins'] }),
);
const ruleArb: fc.Arbitrary<RouteRule> = fc.record({
  name: token,
  matches: fc.array(matchArb, { minLength: 1, maxLength: 3 }),
  clients: fc.oneof(fc.record({ namespaces: fc.array(token, { minLength: 1, maxLength: 2 }) }), fc.record({ exceptNamespaces: fc.array(token, { maxLength: 2 }) })),
  filters: fc.array(filterArb, { maxLength: 3 }),
  backends: fc.array(fc.oneof(
    fc.record({ cluster: fc.constantFrom('test/server:80', 'test/canary:80'), weight: fc.nat(100), filters: fc.array(filterArb.filter((f) => f.type !== 'cors'), { maxLength: 2 }) }, { requiredKeys: ['cluster', 'weight'] }),
    fc.record({ weight: fc.nat(100), respond: fc.record({ status: fc.constantFrom(404, 500), reason: fc.constantFrom('not found', 'backend missing') }) }),
  ), { minLength: 1, maxLength: 3 }),
  backendTimeoutMs: fc.integer({ min: 1, max: 10_000 }),
  retry: fc.record({ count: fc.nat(5), on: fc.constant('true'), codes: fc.constant([[500, 504]] as [number, number][]), backoffMs: fc.nat(1000) }),
}, { requiredKeys: ['backends'] });

test('property: generated rules are accepted', () => {
  fc.assert(fc.property(fc.array(ruleArb, { maxLength: 4 }), (rules) => {
    const t = good();
    t.routes[0]!.rules = rules;
    const r = validateTable(JSON.parse(JSON.stringify(t)));
    assert.ok(r.ok, r.ok ? '' : formatProblems(r.problems));
  }), { numRuns: 200 });
});

test('property: any value put anywhere in a rule is accepted or refused with a path, never thrown', () => {
  fc.assert(fc.property(ruleArb, fc.nat(), fc.jsonValue(), (rule, pick, value) => {
    const t = JSON.parse(JSON.stringify(withRule(rule))) as RoutingTable;
    const paths: [Record<string, unknown>, string][] = [];
    const walk = (o: unknown): void => {
      if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) { paths.push([o as Record<string, unknown>, k]); walk(v); }
    };
    walk(t.routes[0]!.rules[0]);
    const [obj, key] = paths[pick % paths.length]!;
    obj[key] = value;
    const r = validateTable(t);
    if (!r.ok) {
      assert.ok(r.problems.length > 0);
      for (const p of r.problems) assert.match(p.path, /^\$\.(routes|listeners)/);
    }
  }), { numRuns: 400 });
});
