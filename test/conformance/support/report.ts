/**
 * Builds upstream's ConformanceReport (apiVersion gateway.networking.k8s.io/v1, kind
 * ConformanceReport) from the ported tests' results: per profile, the tests whose features the
 * profile covers, split into core (only core features) and extended, each with a result,
 * statistics, skipped and failed tests; extended lists the supported and unsupported features.
 * A test needing a feature hostmesh does not claim is skipped, as upstream skips it.
 */
import type { ConformanceTest, Profile } from './suite.ts';

/**
 * The features hostmesh claims (upstream's --supported-features); a report also claims the
 * features of the gateway-profile tests run in mesh mode (cases/gateway-in-mesh.ts) that passed.
 */
export const SUPPORTED_FEATURES: readonly string[] = [
  'Mesh', 'HTTPRoute', 'GRPCRoute',
  'MeshClusterIPMatching', 'MeshConsumerRoute', 'MeshHTTPRouteRewritePath', 'MeshHTTPRouteSchemeRedirect',
  'MeshHTTPRouteRedirectPort', 'MeshHTTPRouteRedirectPath', 'MeshHTTPRouteBackendRequestHeaderModification',
  'MeshHTTPRouteQueryParamMatching', 'MeshHTTPRouteNamedRouteRule',
  'HTTPRouteResponseHeaderModification', 'HTTPRouteParentRefPort',
  'HTTPRoute303RedirectStatusCode', 'HTTPRoute307RedirectStatusCode', 'HTTPRoute308RedirectStatusCode',
];

/** Why each profile feature hostmesh does not claim is left out (docs/conformance.md shows these). */
export const UNSUPPORTED_REASONS: Readonly<Record<string, string>> = {
  HTTPRouteDestinationPortMatching: 'experimental; no mesh test upstream, and hostmesh does not match on the destination port inside a route',
  HTTPRouteBackendRequestHeaderModification: 'the gateway-profile name of MeshHTTPRouteBackendRequestHeaderModification (claimed); its tests need a Gateway',
  HTTPRouteQueryParamMatching: 'the gateway-profile name of MeshHTTPRouteQueryParamMatching (claimed); its tests need a Gateway',
  HTTPRouteMethodMatching: 'no mesh test upstream; claimed when its gateway-profile test passes in mesh mode',
  HTTPRoutePortRedirect: 'the gateway-profile name of MeshHTTPRouteRedirectPort (claimed); its tests need a Gateway',
  HTTPRouteSchemeRedirect: 'the gateway-profile name of MeshHTTPRouteSchemeRedirect (claimed); its tests need a Gateway',
  HTTPRoutePathRedirect: 'the gateway-profile name of MeshHTTPRouteRedirectPath (claimed); its tests need a Gateway',
  HTTPRouteHostRewrite: 'no mesh test upstream; claimed when its gateway-profile test passes in mesh mode',
  HTTPRoutePathRewrite: 'the gateway-profile name of MeshHTTPRouteRewritePath (claimed); its tests need a Gateway',
  HTTPRouteRequestMirror: 'no mesh test upstream; claimed when its gateway-profile test passes in mesh mode',
  HTTPRouteRequestMultipleMirrors: 'upstream has no mesh test for it; its tests need a Gateway',
  HTTPRouteRequestPercentageMirror: 'implemented (percent / fraction), but upstream has no mesh test for it; its tests need a Gateway',
  HTTPRouteRequestTimeout: 'no mesh test upstream; claimed when its gateway-profile test passes in mesh mode',
  HTTPRouteBackendTimeout: 'no mesh test upstream; claimed when its gateway-profile test passes in mesh mode',
  HTTPRouteBackendProtocolH2C: 'h2c backends work (appProtocol kubernetes.io/h2c), but upstream has no mesh test for it; its tests need a Gateway',
  HTTPRouteBackendProtocolWebSocket: 'WebSocket is relayed on every HTTP port, but upstream has no mesh test for it; its tests need a Gateway',
  HTTPRouteNamedRouteRule: 'the gateway-profile name of MeshHTTPRouteNamedRouteRule (claimed); its tests need a Gateway',
  HTTPRouteCORS: 'experimental; implemented (CORS filter), but upstream has no mesh test for it; its tests need a Gateway',
};

export interface TestResult {
  name: string;
  result: 'passed' | 'failed' | 'skipped';
  failures: string[];
}

type Outcome = 'success' | 'partial' | 'failure';

interface Status {
  result: Outcome;
  statistics: { Passed: number; Skipped: number; Failed: number };
  skippedTests?: string[];
  failedTests?: string[];
}

export interface ConformanceReport {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'ConformanceReport';
  implementation: { organization: string; project: string; url: string; version: string; contact: string[] };
  date: string;
  gatewayAPIVersion: string;
  gatewayAPIChannel: string;
  mode: string;
  profiles: { name: string; summary: string; core: Status; extended?: Status & { supportedFeatures?: string[]; unsupportedFeatures?: string[] } }[];
}

export interface ReportOptions {
  version: string;
  date: string;
  gatewayAPIVersion: string;
  gatewayAPIChannel: string;
  supported?: readonly string[];
}

/** Whether a test belongs to a profile: every feature it needs is one of the profile's. */
export function inProfile(test: ConformanceTest, profile: Profile): boolean {
  return test.features.every((f) => profile.core.includes(f) || profile.extended.includes(f));
}

function status(tests: readonly ConformanceTest[], results: ReadonlyMap<string, TestResult>, supported: ReadonlySet<string>): Status {
  const passed: string[] = [];
  const skipped: string[] = [];
  const failed: string[] = [];
  for (const t of tests) {
    const r = results.get(t.shortName);
    if (!t.features.every((f) => supported.has(f)) || r === undefined || r.result === 'skipped') skipped.push(t.shortName);
    else if (r.result === 'passed') passed.push(t.shortName);
    else failed.push(t.shortName);
  }
  const out: Status = {
    result: failed.length > 0 ? 'failure' : skipped.length > 0 ? 'partial' : 'success',
    statistics: { Passed: passed.length, Skipped: skipped.length, Failed: failed.length },
  };
  if (skipped.length > 0) out.skippedTests = skipped.toSorted();
  if (failed.length > 0) out.failedTests = failed.toSorted();
  return out;
}

function summaryPart(level: string, s: Status): string {
  if (s.result === 'success') return `${level} tests succeeded.`;
  if (s.result === 'partial') return `${level} tests partially succeeded with ${s.statistics.Skipped} test skips.`;
  return `${level} tests failed with ${s.statistics.Failed} test failures.`;
}

/** The features claimed: the base list, plus those of extra tests that passed. */
export function claimedFeatures(extras: readonly ConformanceTest[], results: readonly TestResult[], base: readonly string[] = SUPPORTED_FEATURES): string[] {
  const passed = new Set(results.filter((r) => r.result === 'passed').map((r) => r.name));
  return [...new Set([...base, ...extras.filter((t) => passed.has(t.shortName)).flatMap((t) => t.features)])];
}

export function buildReport(tests: readonly ConformanceTest[], profiles: readonly Profile[], results: readonly TestResult[], opts: ReportOptions): ConformanceReport {
  const supported = new Set(opts.supported ?? SUPPORTED_FEATURES);
  const byName = new Map(results.map((r) => [r.name, r]));
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'ConformanceReport',
    implementation: {
      organization: 'hostmesh',
      project: 'hostmesh',
      url: 'https://www.npmjs.com/package/hostmesh',
      version: opts.version,
      contact: ['hostmesh maintainers (see README.md, Development)'],
    },
    date: opts.date,
    gatewayAPIVersion: opts.gatewayAPIVersion,
    gatewayAPIChannel: opts.gatewayAPIChannel,
    mode: 'default',
    profiles: profiles.map((p) => {
      const mine = tests.filter((t) => inProfile(t, p));
      const core = status(mine.filter((t) => t.features.every((f) => p.core.includes(f))), byName, supported);
      const ext = status(mine.filter((t) => !t.features.every((f) => p.core.includes(f))), byName, supported);
      const supportedFeatures = p.extended.filter((f) => supported.has(f)).toSorted();
      const unsupportedFeatures = p.extended.filter((f) => !supported.has(f)).toSorted();
      const extended = { ...ext, ...(supportedFeatures.length ? { supportedFeatures } : {}), ...(unsupportedFeatures.length ? { unsupportedFeatures } : {}) };
      return { name: p.name, summary: `${summaryPart('Core', core)} ${summaryPart('Extended', ext)}`, core, extended };
    }),
  };
}
