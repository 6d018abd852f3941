/**
 * `node bench/backend-choice-micro.ts`: nanoseconds per request of the backend-choice pieces (split rules, sticky cookie, access log, trace context) in isolation
 * (no sockets), steadier than the end-to-end bench on a busy machine. Each case runs the
 * prebuilt stage or function on a hand-made request of typical size, median of 5 runs.
 */
import { createLogger } from '../src/common/log.ts';
import { AccessLog, accessLine } from '../src/proxy/access-log.ts';
import { ClusterRuntime } from '../src/proxy/cluster.ts';
import type { Exchange, HttpRoute, RouteBackend } from '../src/proxy/http/exchange.ts';
import { requestHeaders } from '../src/proxy/http/headers.ts';
import type { Upstream } from '../src/proxy/http/upstream.ts';
import { ProxyMetrics } from '../src/proxy/metrics.ts';
import { backendChoice } from '../src/proxy/stages/backend-choice/backend-choice.ts';
import { stageContext, stageHandler } from '../src/proxy/stages/pipeline.ts';
import { ruleDispatch } from '../src/proxy/stages/rule-dispatch/rule-dispatch.ts';
import { stickyToken } from '../src/proxy/stages/backend-choice/sticky.ts';
import { isValidTraceparent, newTraceparent } from '../src/proxy/trace.ts';
import { clusterBackends, TABLE_FORMAT } from '../src/table/index.ts';
import type { RouteEntry } from '../src/table/index.ts';

const N = 300_000;
const log = createLogger('bench', 'silent');

function cluster(name: string): ClusterRuntime<Upstream> {
  return new ClusterRuntime<Upstream>({
    id: `bench/${name}:80`, namespace: 'bench', service: name, port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
    endpoints: [{ address: '10.0.0.1', port: 80 }, { address: '10.0.0.2', port: 80 }],
  }, { affinitySecret: 's', createLink: () => { throw new Error('unused'); }, closeLink: () => {} });
}
const v1 = cluster('v1');
const v2 = cluster('v2');

function route(extra: Partial<RouteEntry>): HttpRoute {
  const entry: RouteEntry = { id: 'bench/web:80', namespace: 'bench', service: 'web', port: 80, protocol: 'http', rules: [], backends: [{ cluster: v1.id, weight: 1 }, { cluster: v2.id, weight: 1 }], ...extra };
  const stats = new ProxyMetrics(undefined, { processMetrics: false }).route(entry);
  const byId = new Map([[v1.id, v1], [v2.id, v2]]);
  const resolve = (b: { cluster: string; weight: number }): RouteBackend => ({ cluster: byId.get(b.cluster)!, weight: b.weight, stats: stats.backend(b.cluster) });
  const backends = entry.backends.map(resolve);
  return {
    id: entry.id, entry, backends, stats, defaultStats: backends[0]!.stats, retryAfterSeconds: 5, log,
    rules: entry.rules.map((r) => ({ rule: r, match: r.match, backends: clusterBackends(r).map(resolve) })), affinitySecret: 's', warnings: [], handle: () => {}, complete: () => {},
  };
}

const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const RAW = ['host', 'web.bench.hostmesh', 'user-agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'accept', '*/*', 'accept-encoding', 'gzip'];
function request(raw: string[]) {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!] = raw[i + 1]!;
  return { url: '/api/items?page=2', headers, rawHeaders: raw, httpVersion: '1.1', socket: { remoteAddress: '10.4.0.7', remotePort: 40000 } };
}
const ex = { method: 'GET', req: request(RAW), backend: undefined, extraHeaders: undefined as string[] | undefined, fail() {}, rule: -1, prefixLength: -1, identity: () => undefined } as unknown as Exchange & { extraHeaders: string[] | undefined };

function time(name: string, run: () => void): void {
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) run();
    samples.push(((performance.now() - t0) * 1e6) / N);
  }
  samples.sort((a, b) => a - b);
  process.stdout.write(`  ${name.padEnd(52)} ${samples[2]!.toFixed(0).padStart(6)} ns\n`);
}

const next = (): void => {};
const plain = stageHandler(backendChoice, stageContext(route({})), next);
/** Rule dispatch in front of the backend choice, as the pipeline composes them. */
function withRules(r: HttpRoute) {
  const ctx = stageContext(r, { branchStages: [backendChoice], end: next });
  return stageHandler(ruleDispatch, ctx, stageHandler(backendChoice, ctx, next));
}
const twoRules = withRules(route({ rules: [
  { match: "header({'User-Agent': '*Chrome*'})", backends: [{ cluster: v2.id, weight: 1 }] },
  { match: "path('/beta/*')", backends: [{ cluster: v2.id, weight: 1 }] },
] }));
const tenRules = (hit: boolean) => withRules(route({ rules: Array.from({ length: 10 }, (_, i) => ({
  matches: [{
    path: { type: 'PathPrefix' as const, value: hit && i === 9 ? '/api' : `/api-${i}` },
    headers: hit && i === 9 ? [] : [{ type: 'Exact' as const, name: 'X-Canary', value: `v${i}` }],
  }],
  backends: [{ cluster: v2.id, weight: 1 }],
})) }));
const tenNone = tenRules(false);
const tenHit = tenRules(true);
const sticky = stageHandler(backendChoice, stageContext(route({ stickyCookie: 'pin' })), next);
const pinnedReq = request([...RAW, 'cookie', `theme=dark; pin=${stickyToken('s', 'bench/web:80', v1.id)}`]);
const pinned = { ...ex, req: pinnedReq } as unknown as Exchange;

process.stdout.write(`backend-choice micro bench: ${N} iterations x 5, median\n`);
time('backend choice, weights only (baseline)', () => plain(ex));
time('backend choice, 2 rules evaluated, none matching', () => twoRules(ex));
time('backend choice, 10 structured rules, none matching', () => tenNone(ex));
time('backend choice, 10 structured rules, the last matching', () => tenHit(ex));
time('backend choice, sticky cookie absent (choose + set)', () => { ex.extraHeaders = undefined; sticky(ex); });
time('backend choice, sticky cookie valid (pinned)', () => sticky(pinned));
time('request headers incl. starting a trace', () => requestHeaders(RAW, '10.4.0.7', {} as { hasBody: boolean }));
const withTrace = [...RAW, 'traceparent', tp];
time('request headers incl. a valid traceparent kept', () => requestHeaders(withTrace, '10.4.0.7', {} as { hasBody: boolean }));
time('newTraceparent()', () => newTraceparent());
time('isValidTraceparent()', () => isValidTraceparent(tp));
const accessLog = new AccessLog({ write: () => {} });
const finished = {
  start: performance.now(), route: { id: 'bench/web:80' }, method: 'GET', req: ex.req, status: 200, body: undefined, bytesIn: 0, bytesOut: 100,
  backend: { cluster: v1 }, endpoint: { key: '10.0.0.1:80' }, client: '10.4.0.7', traceparent: tp, attempts: 1,
} as unknown as Exchange;
let n = 0;
time('access log line formatted', () => accessLine(finished, performance.now()));
time('access log line formatted, batched, chunked', () => {
  accessLog.record(finished);
  if (++n % 16 === 0) accessLog.flush();
});
accessLog.flush();
void TABLE_FORMAT;
