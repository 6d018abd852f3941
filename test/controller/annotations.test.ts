import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseServiceAnnotations } from '../../src/controller/translation/annotations/parse.ts';
import { KEY_NAMES } from '../../src/controller/translation/annotations/keys.ts';
import { formatCodes, formatDuration } from '../../src/controller/translation/annotations/values.ts';
import type { ExpressionChecker, ExpressionContext } from '../../src/controller/translation/types.ts';

const svc = { namespace: 'test', name: 'server' };
const parse = (annotations: Record<string, unknown>, checkExpression?: ExpressionChecker) =>
  parseServiceAnnotations(svc, annotations, checkExpression ? { checkExpression } : {});

const PREFIXES = ['hostmesh.io/', 'mesh.caddyserver.com/', 'mesh.traefik.io/', 'maesh.containo.us/', 'example.com/'];
const SUFFIXES = [...KEY_NAMES, 'timeout-dial-timeout', 'retry-attempts', 'ratelimit-average', 'ratelimit-burst', 'shadow-of', 'dial-timout', 'x'];

test('property: parsing never throws, and settings come back exactly when nothing is invalid', () => {
  const key = fc.tuple(fc.constantFrom(...PREFIXES), fc.oneof(fc.constantFrom(...SUFFIXES), fc.string({ maxLength: 12 }))).map(([p, s]) => p + s);
  const val = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('true', 'false', '3s', '0', '2', '100r/s', '5xx', 'a=1,b=2', 'round-robin', 'cookie:x', ' 10 ', 'server-v2', ''),
    fc.integer(), fc.boolean(), fc.constant(null),
  );
  fc.assert(fc.property(fc.dictionary(key, val, { maxKeys: 8 }), (annotations) => {
    const r = parse(annotations);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (r.mesh === false) assert.equal(r.settings, undefined);
    else assert.equal(r.settings !== undefined, errors.length === 0, JSON.stringify(r.diagnostics));
    for (const d of r.diagnostics) {
      assert.ok(d.message.startsWith('test/server: '), d.message);
      assert.deepEqual(d.object, { kind: 'Service', namespace: 'test', name: 'server' });
    }
    if (r.settings?.retry) assert.ok(r.settings.retry.count !== undefined || r.settings.retry.durationMs !== undefined);
  }), { numRuns: 1500 });
});

test('property: valid canonical values always apply', () => {
  const values = fc.record({
    dial: fc.integer({ min: 1, max: 86_400_000 }),
    count: fc.integer({ min: 1, max: 100 }),
    rate: fc.integer({ min: 1, max: 1_000_000 }),
    codes: fc.integer({ min: 100, max: 599 }).chain((a) => fc.integer({ min: a, max: 599 }).map((b): [number, number] => [a, b])),
    maxFails: fc.integer({ min: 0, max: 1_000_000 }),
    lb: fc.constantFrom('least-request', 'round-robin', 'random'),
  });
  fc.assert(fc.property(values, (v) => {
    const r = parse({
      'hostmesh.io/dial-timeout': formatDuration(v.dial),
      'hostmesh.io/retry-count': String(v.count),
      'hostmesh.io/retry-codes': formatCodes([v.codes]),
      'hostmesh.io/rate-limit-rate': `${v.rate}r/s`,
      'hostmesh.io/max-fails': String(v.maxFails),
      'hostmesh.io/load-balancer': v.lb,
    });
    assert.deepEqual(r.diagnostics, []);
    const s = r.settings!;
    assert.equal(s.dialTimeoutMs, v.dial);
    assert.deepEqual(s.retry, { on: 'true', codes: [v.codes], count: v.count });
    assert.deepEqual(s.rateLimit, { ratePerSecond: v.rate, burst: v.rate, key: '{remote.ip}', zoneSize: 10_000 });
    assert.equal(s.passiveHealth.maxFails, v.maxFails);
    assert.equal(s.loadBalancer.kind, v.lb);
  }));
});

test('no annotations give the defaults and say nothing', () => {
  const r = parse({ 'app.kubernetes.io/name': 'server' });
  assert.equal(r.annotated, false);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.settings, {
    mesh: true,
    dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' },
    passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
    httpOnlyKeys: [],
  });
});

test('the canonical key beats Caddy Mesh, which beats Traefik Mesh, which beats the old maesh prefix', () => {
  const r = parse({
    'maesh.containo.us/ratelimit-average': '1',
    'mesh.traefik.io/ratelimit-average': '2',
    'mesh.caddyserver.com/rate-limit-rate': '3r/s',
  });
  assert.equal(r.settings?.rateLimit?.ratePerSecond, 3);
  assert.deepEqual(r.diagnostics.map((d) => [d.code, d.key]), [
    ['annotation-alias-conflict', 'mesh.traefik.io/ratelimit-average'],
    ['annotation-alias-conflict', 'maesh.containo.us/ratelimit-average'],
  ]);
  const withCanonical = parse({ 'hostmesh.io/rate-limit-rate': '4r/s', 'mesh.caddyserver.com/rate-limit-rate': '3r/s' });
  assert.equal(withCanonical.settings?.rateLimit?.ratePerSecond, 4);
  assert.match(withCanonical.diagnostics[0]!.message, /"3r\/s" disagrees with hostmesh\.io\/rate-limit-rate: "4r\/s"; hostmesh\.io\/rate-limit-rate wins/);
});

test('an invalid canonical key makes the Service invalid even when an alias is valid', () => {
  const r = parse({ 'hostmesh.io/dial-timeout': 'soon', 'mesh.caddyserver.com/timeout-dial-timeout': '1s' });
  assert.equal(r.settings, undefined);
  assert.deepEqual(r.diagnostics.map((d) => [d.severity, d.code]).toSorted(), [['error', 'annotation-invalid'], ['warning', 'annotation-alias-conflict']]);
});

test('Traefik Mesh semantics: attempts include the first try; average is per second; burst defaults to it', () => {
  const r = parse({ 'mesh.traefik.io/retry-attempts': '3', 'mesh.traefik.io/ratelimit-average': '7' });
  assert.deepEqual(r.settings?.retry, { on: 'false', codes: [], count: 2 });
  assert.deepEqual(r.settings?.rateLimit, { ratePerSecond: 7, burst: 7, key: '{remote.ip}', zoneSize: 10_000 });
  assert.equal(parse({ 'mesh.traefik.io/retry-attempts': '1' }).settings?.retry, undefined);
  assert.equal(parse({ 'mesh.traefik.io/retry-attempts': '0' }).settings, undefined);
  // A retry duration (Caddy) lets sent requests be retried again.
  assert.equal(parse({ 'mesh.traefik.io/retry-attempts': '3', 'mesh.caddyserver.com/retry-duration': '2s' }).settings?.retry?.on, 'true');
});

test('mesh "false" opts out before anything else is looked at', () => {
  const r = parse({ 'hostmesh.io/mesh': 'false', 'hostmesh.io/dial-timeout': 'soon', 'hostmesh.io/nonsense': 'x' });
  assert.equal(r.mesh, false);
  assert.deepEqual(r.diagnostics, []);
  const invalidMesh = parse({ 'hostmesh.io/mesh': 'no' });
  assert.equal(invalidMesh.mesh, undefined);
  assert.equal(invalidMesh.settings, undefined);
});

test('expressions are checked in their context, with the column of the error', () => {
  const seen: [string, ExpressionContext][] = [];
  const r = parse({
    'hostmesh.io/retry-count': '1',
    'hostmesh.io/retry-on': 'retry-on',
    'hostmesh.io/traffic-split-expression': 'split',
    'hostmesh.io/traffic-split-new-service': 'v2',
    'hostmesh.io/circuit-breaker-expression': 'breaker',
    'hostmesh.io/rate-limit-rate': '1r/s',
    'hostmesh.io/rate-limit-key': 'key',
  }, (source, context) => {
    seen.push([source, context]);
    return source === 'breaker' ? { code: 'expr-unknown-function', message: 'unknown function', column: 3 } : undefined;
  });
  assert.deepEqual(seen.toSorted(), [['breaker', 'breaker'], ['key', 'key'], ['retry-on', 'matcher'], ['split', 'matcher']]);
  assert.equal(r.settings, undefined);
  const d = r.diagnostics.find((x) => x.code === 'annotation-invalid-expression');
  assert.equal(d?.message, 'test/server: hostmesh.io/circuit-breaker-expression: "breaker" is not a valid circuit-breaker expression: at column 3: unknown function (expr-unknown-function)');
  assert.equal(d?.key, 'hostmesh.io/circuit-breaker-expression');
  assert.equal(d?.value, 'breaker');
});

test('unknown keys get a warning and a suggestion; keys hostmesh writes itself are not unknown', () => {
  const r = parse({
    'hostmesh.io/retry-cuont': '2',
    'hostmesh.io/shadow-of': 'test/server',
    'hostmesh.io/proxy-ports': '{}',
    'mesh.caddyserver.com/timeout-dial': '1s',
  });
  assert.deepEqual(r.diagnostics.map((d) => d.message), [
    'test/server: hostmesh.io/retry-cuont is not a hostmesh annotation and is ignored (did you mean hostmesh.io/retry-count?)',
    'test/server: mesh.caddyserver.com/timeout-dial is not a Caddy Mesh annotation hostmesh understands and is ignored (did you mean mesh.caddyserver.com/timeout-dial-timeout?)',
  ]);
  assert.ok(r.settings);
});

test('values are trimmed, and scalars from hand-written manifests read as text', () => {
  const r = parse({ 'hostmesh.io/dial-timeout': ' 2s\n', 'hostmesh.io/retry-count': 3, 'hostmesh.io/sticky-cookie': 'pin ' });
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.settings?.dialTimeoutMs, 2000);
  assert.equal(r.settings?.retry?.count, 3);
  assert.equal(r.settings?.stickyCookie, 'pin');
});

test('values longer than 4096 characters are refused without being parsed', () => {
  const r = parse({ 'hostmesh.io/retry-on': 'x'.repeat(5000), 'hostmesh.io/retry-count': '1' }, () => assert.fail('must not be checked'));
  assert.match(r.diagnostics[0]!.message, /is too long/);
  assert.ok(r.diagnostics[0]!.message.length < 300, 'the value is cut in the message');
});

test('HTTP-only settings are listed so translation can report them on tcp and udp ports', () => {
  const r = parse({ 'hostmesh.io/retry-count': '1', 'hostmesh.io/load-balancer': 'header:x', 'hostmesh.io/dial-timeout': '1s', 'mesh.traefik.io/scheme': 'h2c' });
  assert.deepEqual(r.settings?.httpOnlyKeys, ['mesh.traefik.io/scheme', 'hostmesh.io/retry-count', 'hostmesh.io/load-balancer']);
  assert.deepEqual(parse({ 'hostmesh.io/load-balancer': 'random' }).settings?.httpOnlyKeys, []);
});
