/**
 * The conformance report builder: which profile a ported test counts for, core versus extended,
 * skips for features hostmesh does not claim, upstream's summary wording; and every profile
 * feature hostmesh does not claim has a stated reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_TESTS, EXTRA_TESTS, GRPC_TESTS, HTTP_TESTS } from './cases/index.ts';
import { PROFILES } from './support/suite.ts';
import { SUPPORTED_FEATURES, UNSUPPORTED_REASONS, buildReport, claimedFeatures, inProfile } from './support/report.ts';
import type { TestResult } from './support/report.ts';

const opts = { version: 'v0.1.0', date: '2026-12-06T00:00:00Z', gatewayAPIVersion: 'v1.4.0', gatewayAPIChannel: 'experimental' };
const allPassed = (): TestResult[] => ALL_TESTS.map((t) => ({ name: t.shortName, result: 'passed', failures: [] }));

test('every ported test belongs to a mesh profile; MeshBasic to both, GRPCRoute tests only to MESH-GRPC', () => {
  const [http, grpc] = PROFILES;
  for (const t of HTTP_TESTS) assert.ok(inProfile(t, http!), t.shortName);
  for (const t of GRPC_TESTS) assert.ok(inProfile(t, grpc!) && !inProfile(t, http!), t.shortName);
  assert.deepEqual(ALL_TESTS.filter((t) => inProfile(t, grpc!)).map((t) => t.shortName), ['MeshBasic', 'MeshGRPCRouteWeight', 'MeshGRPCRouteRequestHeaderModifier']);
  assert.equal(new Set(ALL_TESTS.map((t) => t.shortName)).size, ALL_TESTS.length, 'short names are unique');
});

test('every profile feature hostmesh does not claim has a reason, and only those', () => {
  const profileFeatures = new Set(PROFILES.flatMap((p) => [...p.core, ...p.extended]));
  const unclaimed = [...profileFeatures].filter((f) => !SUPPORTED_FEATURES.includes(f)).toSorted();
  assert.deepEqual(Object.keys(UNSUPPORTED_REASONS).toSorted(), unclaimed);
  for (const f of SUPPORTED_FEATURES) assert.ok(profileFeatures.has(f), `${f} is a mesh profile feature`);
  for (const t of ALL_TESTS) for (const f of t.features) assert.ok(SUPPORTED_FEATURES.includes(f), `${t.shortName} needs ${f}, which hostmesh claims`);
  // The extra (gateway-profile) tests each prove one feature that is claimed only when they pass.
  for (const t of EXTRA_TESTS) assert.ok(t.features.some((f) => f in UNSUPPORTED_REASONS), t.shortName);
});

test('an extra test that passed adds its feature to the claims; a failed one does not', () => {
  const results: TestResult[] = [
    { name: 'HTTPRouteMethodMatching', result: 'passed', failures: [] },
    { name: 'HTTPRouteRequestMirror', result: 'failed', failures: ['x'] },
  ];
  const claimed = claimedFeatures(EXTRA_TESTS, results);
  assert.ok(claimed.includes('HTTPRouteMethodMatching'));
  assert.ok(!claimed.includes('HTTPRouteRequestMirror'));
  assert.equal(claimed.filter((f) => f === 'Mesh').length, 1);
});

test('all passed: both profiles succeed, core and extended counted apart', () => {
  const r = buildReport(ALL_TESTS, PROFILES, allPassed(), opts);
  assert.equal(r.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.equal(r.kind, 'ConformanceReport');
  const [http, grpc] = r.profiles;
  assert.equal(http!.name, 'MESH-HTTP');
  assert.equal(http!.summary, 'Core tests succeeded. Extended tests succeeded.');
  assert.deepEqual(http!.core.statistics, { Passed: 7, Skipped: 0, Failed: 0 });
  assert.deepEqual(http!.extended!.statistics, { Passed: 14, Skipped: 0, Failed: 0 });
  assert.equal(grpc!.name, 'MESH-GRPC');
  assert.deepEqual(grpc!.core.statistics, { Passed: 3, Skipped: 0, Failed: 0 });
  assert.ok(http!.extended!.supportedFeatures!.includes('MeshConsumerRoute'));
  assert.ok(http!.extended!.unsupportedFeatures!.includes('HTTPRouteCORS'));
});

test('a failure fails its level; an unclaimed feature skips its tests', () => {
  const results = allPassed().map((r) => r.name === 'MeshHTTPRouteWeight' ? { ...r, result: 'failed' as const, failures: ['x'] } : r);
  const r = buildReport(ALL_TESTS, PROFILES, results, { ...opts, supported: SUPPORTED_FEATURES.filter((f) => f !== 'MeshConsumerRoute') });
  const http = r.profiles[0]!;
  assert.equal(http.core.result, 'failure');
  assert.deepEqual(http.core.failedTests, ['MeshHTTPRouteWeight']);
  assert.equal(http.extended!.result, 'partial');
  assert.deepEqual(http.extended!.skippedTests, ['MeshConsumerRoute']);
  assert.equal(http.summary, 'Core tests failed with 1 test failures. Extended tests partially succeeded with 1 test skips.');
  assert.ok(http.extended!.unsupportedFeatures!.includes('MeshConsumerRoute'));
});
