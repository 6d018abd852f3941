/**
 * Flagger's Gateway API router (provider `gatewayapi:v1`) played against a standalone mesh: the
 * HTTPRoute is written exactly as Flagger's router writes it for a Canary whose gatewayRefs name
 * the apex Service (a GAMMA mesh route), and updated step by step as Flagger's SetRoutes does.
 *
 * - Progressive traffic shifting: primary/canary weights 100/0 stepped by 20 to 0/100; at each
 *   step 2,000 requests through the apex Service split within 5 points of the weights.
 * - A/B testing: the analysis' header and cookie matches merged into the first rule (canary
 *   100), a second rule sending the rest to the primary: routed exactly.
 * - Session affinity: the canary backend's ResponseHeaderModifier adds Set-Cookie, and a rule
 *   matching that cookie (regex on the Cookie header) pins the client to the canary; after
 *   promotion the cookie routes to the primary and is expired. Routed exactly.
 * - Mirroring (blue/green with mirror): the primary answers everything, the canary gets a copy.
 *
 * The requests also land in hostmesh_requests_total under backend="podinfo-canary", the series
 * the MetricTemplates in examples/flagger/ select.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import { stringify } from 'yaml';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { serviceYaml, withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import { until } from '../support/until.ts';

const NS = 'test';
const PORT = 9898;
const APEX = 'podinfo';
const PRIMARY = 'podinfo-primary';
const CANARY = 'podinfo-canary';
const COOKIE = 'flagger-cookie';

type Obj = Record<string, unknown>;

/** What Flagger's router needs from the Canary for one SetRoutes call. */
interface RouterState {
  primaryWeight: number;
  canaryWeight: number;
  /** canary.spec.service.timeout */
  timeout?: string;
  /** canary.spec.analysis.match, already in Gateway API form (headers per match). */
  analysisMatches?: { name: string; type: 'Exact' | 'RegularExpression'; value: string }[][];
  /** B/G mirroring in progress. */
  mirrored?: boolean;
  /** Session affinity: the current cookie (name=value) while the canary has weight, else the previous one. */
  affinity?: { cookie: string; previous?: boolean; maxAge?: number };
}

const serviceMatch = (): Obj => ({ path: { type: 'PathPrefix', value: '/' } });

function backendRef(name: string, weight: number, filters?: Obj[]): Obj {
  return { group: '', kind: 'Service', name, port: PORT, weight, ...(filters ? { filters } : {}) };
}

/** The HTTPRoute Flagger's gatewayapi:v1 router writes for this state. */
export function flaggerHTTPRoute(s: RouterState): string {
  const timeouts = s.timeout ? { timeouts: { request: s.timeout } } : {};
  const weighted: Obj = {
    matches: [serviceMatch()],
    backendRefs: [backendRef(PRIMARY, s.primaryWeight), backendRef(CANARY, s.canaryWeight)],
    ...timeouts,
  };
  if (s.mirrored) weighted.filters = [{ type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: CANARY, port: PORT } } }];
  let rules: Obj[] = [weighted];
  if (s.affinity) {
    const [name, value] = s.affinity.cookie.split('=') as [string, string];
    const cookieMatch = { ...serviceMatch(), headers: [{ type: 'RegularExpression', name: 'Cookie', value: `.*${name}.*${value}.*` }] };
    if (!s.affinity.previous) {
      // The canary's backendRef sets the cookie; the sticky rule sends its holders to the canary.
      (weighted.backendRefs as Obj[])[1] = backendRef(CANARY, s.canaryWeight, [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: `${s.affinity.cookie}; Max-Age=${s.affinity.maxAge ?? 86400}` }] } }]);
      rules = [{ ...weighted, matches: [cookieMatch], backendRefs: [backendRef(PRIMARY, 0), backendRef(CANARY, 100)] }, weighted];
    } else {
      // After the run: holders of the previous cookie get it expired, and the weights' backends.
      rules = [{ ...weighted, matches: [cookieMatch], filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: `${s.affinity.cookie}; Max-Age=-1` }] } }] }, weighted];
    }
  }
  if (s.analysisMatches && s.analysisMatches.length > 0) {
    // A/B: the analysis matches merged with the service's path match, then a primary-only rule.
    rules[0]!.matches = s.analysisMatches.map((headers) => ({ ...serviceMatch(), headers }));
    rules.push({ matches: [serviceMatch()], backendRefs: [backendRef(PRIMARY, 100)], ...timeouts });
  }
  return stringify({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: APEX, namespace: NS },
    spec: { parentRefs: [{ group: 'core', kind: 'Service', name: APEX, port: PORT }], rules },
  });
}

interface Podinfo {
  mesh: StandaloneFixture;
  agent: Agent;
  url: string;
  canaryHits: () => number;
}

/** Flagger's three Services (the apex selects the primary's pods) and the two workloads. */
async function podinfo(t: TestContext): Promise<Podinfo> {
  let canaryHits = 0;
  const answer = (name: string) => async (t2: TestContext) => httpBackend(t2, (req, res) => {
    req.resume();
    if (name === 'canary') canaryHits++;
    res.setHeader('x-version', name);
    res.end(name);
  });
  const primary = await answer('primary')(t);
  const canary = await answer('canary')(t);
  const svc = (name: string, port: number) => serviceYaml(name, { namespace: NS, ports: [{ name: 'http', port: PORT, backends: [port] }] });
  const mesh = await withStandalone(t, {
    'apex.yaml': svc(APEX, primary.port),
    'primary.yaml': svc(PRIMARY, primary.port),
    'canary.yaml': svc(CANARY, canary.port),
    'route.yaml': flaggerHTTPRoute({ primaryWeight: 100, canaryWeight: 0 }),
  });
  return { mesh, agent: client(t), url: `${mesh.url(`${NS}/${APEX}:${PORT}`)}/`, canaryHits: () => canaryHits };
}

async function shares(p: Podinfo, n: number, headers: Record<string, string> = {}, parallel = 20): Promise<{ primary: number; canary: number; cookies: string[] }> {
  let primary = 0;
  let canary = 0;
  const cookies: string[] = [];
  for (let sent = 0; sent < n; sent += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - sent) }, () => get(p.agent, p.url, { method: 'GET', headers: { host: APEX, ...headers } })));
    for (const r of batch) {
      assert.equal(r.status, 200, r.body);
      if (r.body === 'primary') primary++;
      else if (r.body === 'canary') canary++;
      const sc = r.headers['set-cookie'];
      if (sc !== undefined) cookies.push(...(Array.isArray(sc) ? sc : [sc]).map((c) => `${r.body}:${c}`));
    }
  }
  return { primary, canary, cookies };
}

test('progressive traffic shifting: weights 100/0 stepped by 20 to 0/100, each step within 5% over 2,000 requests', { timeout: 300_000 }, async (t) => {
  const p = await podinfo(t);
  const seen: string[] = [];
  for (let canaryWeight = 0; canaryWeight <= 100; canaryWeight += 20) {
    await p.mesh.write('route.yaml', flaggerHTTPRoute({ primaryWeight: 100 - canaryWeight, canaryWeight }));
    const s = await shares(p, 2000);
    seen.push(`${100 - canaryWeight}/${canaryWeight}: ${s.primary}/${s.canary}`);
    assert.equal(s.primary + s.canary, 2000);
    const share = s.canary / 2000;
    assert.ok(Math.abs(share - canaryWeight / 100) <= 0.05, `canary weight ${canaryWeight}: share ${share} (${seen.join('; ')})`);
    if (canaryWeight === 0) assert.equal(s.canary, 0, 'weight 0 gets nothing');
    if (canaryWeight === 100) assert.equal(s.primary, 0, 'weight 0 gets nothing');
  }
  t.diagnostic(seen.join('; '));
  // The MetricTemplates' series: what the canary answered, under its own backend label.
  const metrics = await (await fetch(`${p.mesh.admin}/metrics`)).text();
  const canaryCount = metrics.split('\n').filter((l) => l.startsWith('hostmesh_requests_total{') && l.includes(`destination_namespace="${NS}"`) && l.includes(`backend="${CANARY}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.equal(canaryCount, p.canaryHits(), 'hostmesh_requests_total{backend="podinfo-canary"} counts every canary answer');
});

test('A/B testing: header and cookie matches go to the canary, everything else to the primary, exactly', { timeout: 120_000 }, async (t) => {
  const p = await podinfo(t);
  await p.mesh.write('route.yaml', flaggerHTTPRoute({
    primaryWeight: 0,
    canaryWeight: 100,
    timeout: '30s',
    analysisMatches: [
      [{ name: 'x-canary', type: 'Exact', value: 'insider' }],
      [{ name: 'cookie', type: 'RegularExpression', value: '^(.*?;)?(canary=always)(;.*)?$' }],
    ],
  }));
  assert.deepEqual(await shares(p, 200, { 'x-canary': 'insider' }), { primary: 0, canary: 200, cookies: [] });
  assert.deepEqual(await shares(p, 200, { cookie: 'canary=always; session=1' }), { primary: 0, canary: 200, cookies: [] });
  assert.deepEqual(await shares(p, 200, { 'x-canary': 'outsider', cookie: 'canary=never' }), { primary: 200, canary: 0, cookies: [] });
  assert.deepEqual(await shares(p, 200), { primary: 200, canary: 0, cookies: [] });
});

test('session affinity: canary answers set the cookie, its holders stay on the canary; after promotion it is expired', { timeout: 120_000 }, async (t) => {
  const p = await podinfo(t);
  const cookie = `${COOKIE}=k8Xq2bTz`;
  await p.mesh.write('route.yaml', flaggerHTTPRoute({ primaryWeight: 80, canaryWeight: 20, affinity: { cookie } }));
  const first = await shares(p, 500);
  assert.ok(first.canary > 0 && first.primary > 0, JSON.stringify({ primary: first.primary, canary: first.canary }));
  // Every canary answer, and only those, carries Flagger's cookie.
  assert.equal(first.cookies.length, first.canary);
  assert.ok(first.cookies.every((c) => c === `canary:${cookie}; Max-Age=86400`), first.cookies[0]);
  // The sticky rule's backends carry no filter: holders are not sent the cookie again.
  assert.deepEqual(await shares(p, 300, { cookie: `other=1; ${cookie}` }), { primary: 0, canary: 300, cookies: [] });

  // Promotion: weights back to the primary, the previous cookie routed there and expired.
  await p.mesh.write('route.yaml', flaggerHTTPRoute({ primaryWeight: 100, canaryWeight: 0, affinity: { cookie, previous: true } }));
  assert.deepEqual(await shares(p, 200, { cookie }), { primary: 200, canary: 0, cookies: Array(200).fill(`primary:${cookie}; Max-Age=-1`) });
  assert.deepEqual(await shares(p, 200), { primary: 200, canary: 0, cookies: [] });
});

test('mirroring: the primary answers every request, the canary gets a copy of each', { timeout: 120_000 }, async (t) => {
  const p = await podinfo(t);
  await p.mesh.write('route.yaml', flaggerHTTPRoute({ primaryWeight: 100, canaryWeight: 0, mirrored: true }));
  const before = p.canaryHits();
  const s = await shares(p, 200, {}, 1);
  assert.deepEqual(s, { primary: 200, canary: 0, cookies: [] });
  await until('every mirrored copy to reach the canary', () => p.canaryHits() - before >= 200, 30_000);
  assert.equal(p.canaryHits() - before, 200);
});
