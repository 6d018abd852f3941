/** Builds the runtime of an HTTP route: backends resolved, counters planned, stages assembled. */
import type { Logger } from 'pino';
import type { RouteEntry } from '../../table/index.ts';
import type { BackendStats, RouteStats, RouteStatsPlan } from '../metrics.ts';
import { LocalZones } from '../ratelimit/zones.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { buildPipeline } from '../stages/pipeline.ts';
import type { HttpRoute, RouteBackend } from './exchange.ts';
import type { HttpCluster } from './upstream.ts';

export interface HttpRouteOptions {
  retryAfterSeconds: number;
  maxHeaderSize: number;
  log: Logger;
  /** Zones of the rate-limit stage; the engine passes its own so buckets outlive a rebuild. */
  rateLimits?: RateLimitZones;
}

export function buildHttpRoute(entry: RouteEntry, clusters: ReadonlyMap<string, HttpCluster>, stats: RouteStats, opts: HttpRouteOptions): { route: HttpRoute; stats: RouteStatsPlan } {
  const byName = new Map<string, BackendStats>();
  const backends: RouteBackend[] = entry.backends.map((b) => {
    const cluster = clusters.get(b.cluster)!;
    const name = serviceOf(b.cluster);
    let bs = byName.get(name);
    if (bs === undefined) {
      bs = stats.backend(name);
      byName.set(name, bs);
    }
    return { cluster, weight: b.weight, stats: bs };
  });
  const route: HttpRoute = {
    id: entry.id,
    entry,
    backends,
    stats,
    defaultStats: backends[0]!.stats,
    retryAfterSeconds: opts.retryAfterSeconds,
    log: opts.log,
    handle: () => {},
  };
  const rateLimits = opts.rateLimits ?? new LocalZones();
  route.handle = buildPipeline(route, { maxHeaderSize: opts.maxHeaderSize, rateLimits });
  const zone = entry.rateLimit !== undefined ? rateLimits.zone(entry.id, entry.rateLimit) : undefined;
  return { route, stats: { id: entry.id, stats, backends: [...byName.values()], zone } };
}

/** The Service name of a cluster id `namespace/name:port`: the `backend` metric label. */
function serviceOf(clusterId: string): string {
  const slash = clusterId.indexOf('/');
  const colon = clusterId.lastIndexOf(':');
  return clusterId.slice(slash + 1, colon);
}
