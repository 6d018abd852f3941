/** Builds the runtime of an HTTP route: backends resolved, counters planned, stages assembled. */
import type { Logger } from 'pino';
import { clusterBackends, serviceOfCluster } from '../../table/index.ts';
import type { RouteEntry, WeightedCluster } from '../../table/index.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import type { ProxyLimits } from '../limits.ts';
import type { BackendStats, RouteStats, RouteStatsPlan } from '../metrics.ts';
import { LocalZones } from '../ratelimit/zones.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { buildPipeline } from '../stages/pipeline.ts';
import type { ExchangeLog, HttpRoute, HttpRule, RouteBackend } from './exchange.ts';
import type { HttpCluster } from './upstream.ts';
import { IdentityMap } from '../identity.ts';
import type { IdentityLookup } from '../identity.ts';
import type { Tracer } from '../tracing/span.ts';

export interface HttpRouteOptions {
  retryAfterSeconds: number;
  maxHeaderSize: number;
  log: Logger;
  /** Policy limits (replay buffer, backoff, mirror bounds, breaker durations); defaults when absent. */
  limits?: Readonly<ProxyLimits>;
  /** Secret behind sticky-cookie values (the engine passes its affinity secret). */
  affinitySecret?: string;
  accessLog?: ExchangeLog | undefined;
  /** Head sampling and spans, when tracing is on. */
  tracer?: Tracer | undefined;
  /** Zones of the rate-limit stage; the engine passes its own so buckets outlive a rebuild. */
  rateLimits?: RateLimitZones;
  /** Client identities by source address (the engine's identity map); an empty map when absent. */
  identities?: IdentityLookup;
}

export function buildHttpRoute(entry: RouteEntry, clusters: ReadonlyMap<string, HttpCluster>, stats: RouteStats, opts: HttpRouteOptions): { route: HttpRoute; stats: RouteStatsPlan } {
  const byName = new Map<string, BackendStats>();
  const resolve = (b: WeightedCluster): RouteBackend => {
    const cluster = clusters.get(b.cluster)!;
    const name = serviceOfCluster(b.cluster);
    let bs = byName.get(name);
    if (bs === undefined) {
      bs = stats.backend(name);
      byName.set(name, bs);
    }
    return { cluster, weight: b.weight, stats: bs };
  };
  const backends = entry.backends.map(resolve);
  // Rule backends get their counters too, so a split target's series exist before it gets traffic.
  const rules: HttpRule[] = entry.rules.map((r) => ({
    rule: r, match: r.match, backends: clusterBackends(r).map(resolve), mirror: r.mirror !== undefined ? clusters.get(r.mirror.cluster) : undefined,
  }));
  const route: HttpRoute = {
    id: entry.id,
    entry,
    backends,
    stats,
    defaultStats: backends[0]!.stats,
    retryAfterSeconds: opts.retryAfterSeconds,
    log: opts.log,
    mirror: entry.mirror !== undefined ? clusters.get(entry.mirror.cluster) : undefined,
    rules,
    affinitySecret: opts.affinitySecret ?? 'hostmesh',
    accessLog: opts.accessLog,
    tracer: opts.tracer,
    identities: opts.identities ?? new IdentityMap(),
    warnings: [],
    handle: () => {},
    complete: () => {},
  };
  const rateLimits = opts.rateLimits ?? new LocalZones();
  const zone = entry.rateLimit !== undefined ? rateLimits.zone(entry.id, entry.rateLimit) : undefined;
  const plan: RouteStatsPlan = { id: entry.id, stats, backends: [...byName.values()], zone };
  const pipeline = buildPipeline(route, { maxHeaderSize: opts.maxHeaderSize, limits: opts.limits ?? DEFAULT_LIMITS, plan, zones: rateLimits });
  route.handle = pipeline.handle;
  route.complete = pipeline.complete;
  return { route, stats: plan };
}
