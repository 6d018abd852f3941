/**
 * hostmesh's proxy engine in its own process, fed a one-service table pointing at the backend.
 * argv: backendPort [variant] [listenPort]. Variants:
 *
 *   plain  no policies (the default)
 *   all    every per-request stage switched on without changing what the client gets: two split
 *          rules matching nothing, weights over two clusters with a sticky cookie, retries,
 *          a request timeout, a rate limit nobody reaches, a circuit breaker that never opens,
 *          a 1% mirror (to the same backend) and the JSON access log (to /dev/null)
 *
 * With HOSTMESH_BENCH_DROP=KEY,KEY (RouteEntry keys such as mirror, retry, rateLimit, or
 * accessLog) the `all` variant goes without those, to find which stage costs what.
 * With HOSTMESH_BENCH_TRACING=URL,RATIO the engine also exports spans to the collector at URL.
 * With HOSTMESH_BENCH_ACL=1 the route is in ACL mode: 127.0.0.1 (the load generator) is an
 * identity the access policy allows GET requests under `/` (a path and a method match run on
 * every request; the identity lookup is cached per connection). With HOSTMESH_BENCH_ACL=all the
 * identity is allowed every request (a grant that does not depend on the request: only the
 * connection's cached decision is read per request).
 * With HOSTMESH_BENCH_TAP=RATE someone taps the route (at most RATE events a second, the default
 * cap being 100) and the events are drained every second, as the live reporter does.
 *
 * Reports its port over IPC.
 */
import { openSync } from 'node:fs';
import { createLogger } from '../src/common/log.ts';
import { FdSink } from '../src/proxy/access-log-writer.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import type { RouteEntry } from '../src/table/index.ts';
import { benchTable, freePort } from './proxy-table.ts';

const backend = Number(process.argv[2]);
const variant = process.argv[3] ?? 'plain';
const port = process.argv[4] !== undefined ? Number(process.argv[4]) : await freePort();

const all = variant === 'all';
const route: Partial<RouteEntry> = all
  ? {
    rules: [
      { match: "header({'User-Agent': '*Chrome*'})", backends: [{ cluster: 'bench/v2:80', weight: 1 }] },
      { match: "path('/beta/*')", backends: [{ cluster: 'bench/v2:80', weight: 1 }] },
    ],
    backends: [{ cluster: 'bench/server:80', weight: 1 }, { cluster: 'bench/v2:80', weight: 1 }],
    stickyCookie: 'bench-pin',
    requestTimeoutMs: 30_000,
    retry: { count: 2, on: 'true', codes: [[502, 504]] },
    rateLimit: { ratePerSecond: 1e9, burst: 1e9, key: '{remote.ip}', zoneSize: 10_000 },
    circuitBreaker: { expression: 'NetworkErrorRatio() > 0.9' },
    mirror: { cluster: 'bench/v2:80', percent: 1 },
  }
  : {};
const drop = new Set((process.env.HOSTMESH_BENCH_DROP ?? '').split(',').filter((k) => k !== ''));
for (const key of drop) delete (route as Record<string, unknown>)[key];
if (process.env.HOSTMESH_BENCH_ACL === '1') {
  route.access = { allow: [{ namespace: 'bench', serviceAccount: 'load', matches: [{ path: { type: 'PathPrefix', value: '/' }, methods: ['GET'] }] }] };
} else if (process.env.HOSTMESH_BENCH_ACL === 'all') {
  route.access = { allow: [{ namespace: 'bench', serviceAccount: 'load' }] };
}
const table = benchTable(backend, port, route, all ? ['server', 'v2'] : ['server']);
if (route.access !== undefined) table.identities = [{ address: '127.0.0.1', namespace: 'bench', serviceAccount: 'load' }];
const [collector, sampling] = (process.env.HOSTMESH_BENCH_TRACING ?? '').split(',');
const engine = new ProxyEngine({
  log: createLogger('bench', 'warn'),
  tracing: collector ? { collector, sampling: Number(sampling) } : undefined,
  accessLog: all && !drop.has('accessLog') ? new FdSink(openSync('/dev/null', 'w')) : undefined,
});
const result = await engine.apply(table);
if (!result.ok) throw new Error(result.error.message);
const tapRate = Number(process.env.HOSTMESH_BENCH_TAP ?? 0);
if (tapRate > 0) {
  const taps = [{ id: 'bench', target: 'bench/server', sample: 1, maxPerSecond: tapRate }];
  await engine.live(taps);
  setInterval(() => void engine.live(taps), 1000).unref();
}
process.send?.({ port });
process.on('disconnect', () => {
  void engine.close().then(() => process.exit(0));
});
