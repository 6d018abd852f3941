/**
 * Upstream's expectation shape (conformance/utils/http ExpectedResponse) and its comparison, for
 * the ported tests. Where upstream's mesh comparison skips a field the expectation states
 * (the request path the backend saw, the namespace, a redirect's Location), this one checks it;
 * docs/conformance.md lists the differences.
 */
import type { TestContext } from 'node:test';
import type { Captured, MeshClient, Request } from './mesh.ts';

export interface ExpectedResponse {
  testCaseName?: string;
  request: Request;
  /** What the backend must have received. */
  expectedRequest?: { path?: string; host?: string; headers?: Record<string, string>; absentHeaders?: string[] };
  response?: { statusCodes?: number[]; headers?: Record<string, string>; absentHeaders?: string[] };
  /** Pod name prefix of the backend that must answer. */
  backend?: string;
  namespace?: string;
  /** Where a redirect must point (fields left out take upstream's defaults). */
  redirectRequest?: { scheme?: string; host?: string; port?: string; path?: string };
}

/** Upstream's generated test case name. */
export function caseName(tc: ExpectedResponse, i: number): string {
  if (tc.testCaseName) return tc.testCaseName;
  const req = `${i} request to '${tc.request.host ?? 'echo'}${tc.request.path ?? ''}'${tc.request.headers ? ' with headers' : ''}`;
  return tc.backend ? `${req} should go to ${tc.backend}` : `${req} should receive a ${tc.response?.statusCodes?.[0] ?? 200}`;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Why `got` does not meet `exp`, or undefined when it does. */
export function mismatch(exp: ExpectedResponse, got: Captured): string | undefined {
  const codes = exp.response?.statusCodes ?? [200];
  if (!codes.includes(got.status)) return `wanted status code to be one of ${JSON.stringify(codes)}, got ${got.status} (${got.body.slice(0, 200)})`;
  const er = exp.expectedRequest;
  if (er) {
    if (!got.echo) return `no backend answered: ${got.body.slice(0, 200)}`;
    if (er.path !== undefined && got.echo.path !== er.path) return `expected the backend to see path ${er.path}, got ${got.echo.path}`;
    if (er.host !== undefined && got.echo.host !== er.host) return `expected the backend to see host ${er.host}, got ${got.echo.host}`;
    for (const [name, want] of Object.entries(er.headers ?? {})) {
      const actual = got.echo.headers[name.toLowerCase()];
      if (!actual) return `expected ${name} header to be set, actual headers: ${JSON.stringify(got.echo.headers)}`;
      if (actual.join(',') !== want) return `expected ${name} header to be set to ${want}, got ${actual.join(',')}`;
    }
    for (const name of er.absentHeaders ?? []) {
      const actual = got.echo.headers[name.toLowerCase()];
      if (actual) return `expected ${name} header to not be set, got ${actual.join(',')}`;
    }
  }
  for (const name of exp.response?.absentHeaders ?? []) {
    const v = got.headers[name.toLowerCase()];
    if (v && v.length > 0) return `expected no header ${JSON.stringify(name)}, got ${JSON.stringify(v)}`;
  }
  for (const [name, want] of Object.entries(exp.response?.headers ?? {})) {
    const v = got.headers[name.toLowerCase()]?.[0] ?? '';
    if (v !== want) return `expected header ${name}=${want}, got ${v}`;
  }
  if (exp.backend !== undefined) {
    if (!got.echo) return `expected pod name to start with ${exp.backend}, but no backend answered: ${got.body.slice(0, 200)}`;
    if (!got.echo.pod.startsWith(exp.backend)) return `expected pod name to start with ${exp.backend}, got ${got.echo.pod}`;
    if (exp.namespace !== undefined && got.echo.namespace !== exp.namespace) return `expected namespace ${exp.namespace}, got ${got.echo.namespace}`;
  }
  if (isRedirect(got.status) && exp.redirectRequest) {
    const location = got.headers.location?.[0];
    if (!location) return `a ${got.status} without a Location`;
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      return `Location ${location} is not an absolute URL`;
    }
    const want = exp.redirectRequest;
    const scheme = url.protocol.slice(0, -1);
    const wantHost = want.host ?? url.hostname;
    const wantScheme = want.scheme ?? 'http';
    const wantPath = want.path ?? (exp.request.path ?? '/').split('?')[0];
    if (url.hostname !== wantHost) return `expected redirected hostname to be ${JSON.stringify(wantHost)}, got ${JSON.stringify(url.hostname)} (${location})`;
    // URL drops a scheme's default port; upstream accepts none or the default when none is expected.
    const gotPort = url.port;
    if (want.port === undefined) {
      if (gotPort !== '') return `expected redirected port to be the scheme's default or not set, got ${JSON.stringify(gotPort)} (${location})`;
    } else if (gotPort !== want.port) return `expected redirected port to be ${JSON.stringify(want.port)}, got ${JSON.stringify(gotPort)} (${location})`;
    if (scheme !== wantScheme) return `expected redirected scheme to be ${JSON.stringify(wantScheme)}, got ${JSON.stringify(scheme)} (${location})`;
    if (url.pathname !== wantPath) return `expected redirected path to be ${JSON.stringify(wantPath)}, got ${JSON.stringify(url.pathname)} (${location})`;
  }
  return undefined;
}

export interface Timeouts {
  /** Consecutive matching answers required (upstream's RequiredConsecutiveSuccesses). */
  consecutive: number;
  /** Upstream's MaxTimeToConsistency: a safety net, never a measurement. */
  maxMs: number;
}

/** HOSTMESH_CONFORMANCE_MAX_MS shortens the wait, e.g. to see quickly what fails on a branch. */
export const DEFAULT_TIMEOUTS: Timeouts = { consecutive: 3, maxMs: Number(process.env.HOSTMESH_CONFORMANCE_MAX_MS ?? 30_000) };

/**
 * Sends the request until `consecutive` answers in a row match, as upstream's
 * MakeRequestAndExpectEventuallyConsistentResponse; throws with the last mismatch otherwise.
 */
export async function expectEventually(client: MeshClient, exp: ExpectedResponse, timeouts: Timeouts = DEFAULT_TIMEOUTS): Promise<Captured> {
  const deadline = Date.now() + timeouts.maxMs;
  let streak = 0;
  let last = '';
  for (;;) {
    let got: Captured | undefined;
    try {
      got = await client.request(exp.request);
      const why = mismatch(exp, got);
      if (why === undefined) {
        if (++streak >= timeouts.consecutive) return got;
        continue;
      }
      last = why;
    } catch (e) {
      last = `request failed: ${(e as Error).message}`;
    }
    streak = 0;
    if (Date.now() > deadline) throw new Error(`${JSON.stringify(exp.request)} from ${client.pod.namespace}/${client.pod.name}: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Upstream's weighted distribution check: `total` requests, `concurrency` at a time, each
 * backend's share within `tolerance` of its weight, only the weighted backends answering;
 * retried up to `attempts` times as upstream does.
 */
export async function expectDistribution(client: MeshClient, exp: ExpectedResponse, weights: Record<string, number>, opts = { total: 500, concurrency: 10, tolerance: 0.05, attempts: 10 }): Promise<Record<string, number>> {
  await expectEventually(client, exp);
  let lastError = '';
  for (let attempt = 0; attempt < opts.attempts; attempt++) {
    const seen: Record<string, number> = {};
    let sent = 0;
    const errors: string[] = [];
    const worker = async (): Promise<void> => {
      while (sent < opts.total) {
        sent++;
        const got = await client.request(exp.request);
        const why = mismatch(exp, got);
        if (why) {
          errors.push(why);
          continue;
        }
        const b = Object.keys(weights).find((w) => got.echo?.pod.startsWith(w));
        if (b === undefined) errors.push(`request was handled by an unexpected pod ${JSON.stringify(got.echo?.pod)}`);
        else seen[b] = (seen[b] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const problems = [...new Set(errors)].slice(0, 3);
    for (const [backend, want] of Object.entries(weights)) {
      const share = (seen[backend] ?? 0) / opts.total;
      if (Math.abs(share - want) > opts.tolerance) problems.push(`backend ${backend} weighted traffic of ${share} not within tolerance ${want} (+/-${opts.tolerance})`);
    }
    if (problems.length === 0) return seen;
    lastError = `${problems.join('; ')} (seen ${JSON.stringify(seen)})`;
  }
  throw new Error(`weighted distribution tests failed: ${lastError}`);
}

/** Each case as a subtest named as upstream names it, one after the other. */
export async function runCases(client: MeshClient, t: TestContext, cases: readonly ExpectedResponse[]): Promise<void> {
  for (const [i, tc] of cases.entries()) await t.test(caseName(tc, i), async () => { await expectEventually(client, tc); });
}
