/**
 * Mirroring (`mirror-service`, `mirror-percent`): a copy of sampled requests goes to another
 * Service, beside the real request and without ever holding it up. Sampling happens in
 * replay-body (which then holds the body); this stage sends the copy right before the attempts
 * start. A copy is dropped (counted) when the body could not be held (over `replayBodyBytes`),
 * when `mirrorMaxInFlight` copies of the route are already out, or when the mirror has no
 * endpoint. Copies use the mirror Service's own connection pools, dial timeout and passive
 * health, and end within `mirrorTimeoutMs`.
 */
import type { Exchange, HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import { MirrorStats } from '../metrics.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import type { PickHint } from '../types.ts';
import { MirrorCopy, MirrorTarget } from './mirror-copy.ts';
import type { Handler } from './types.ts';

export type MirrorLimits = Pick<ProxyLimits, 'mirrorMaxInFlight' | 'mirrorTimeoutMs'>;

/** Decides per request whether it is copied; undefined when the route mirrors nothing. */
export function mirrorSampler(route: HttpRoute): (() => boolean) | undefined {
  const m = route.entry.mirror;
  if (m === undefined || route.mirror === undefined || m.percent <= 0) return undefined;
  if (m.percent >= 100) return () => true;
  const p = m.percent;
  return () => Math.random() * 100 < p;
}

/** The Service name of a cluster id `namespace/name:port`. */
function serviceOf(clusterId: string): string {
  return clusterId.slice(clusterId.indexOf('/') + 1, clusterId.lastIndexOf(':'));
}

const NO_HINT: PickHint = {};

function send(ex: Exchange, target: MirrorTarget): void {
  const stats = target.stats;
  if ((ex.hasBody && ex.body === undefined) || target.inFlight >= target.maxInFlight) {
    stats.dropped++;
    return;
  }
  const ep = target.cluster.pool.pick(NO_HINT);
  if (ep === undefined) {
    stats.dropped++;
    return;
  }
  const copy = new MirrorCopy(target, ep);
  try {
    target.cluster.link(ep).dispatch({
      path: ex.req.url ?? '/',
      method: ex.method,
      headers: ex.upstreamHeaders,
      body: ex.body ?? null,
      headersTimeout: 0,
      bodyTimeout: 0,
    }, copy);
  } catch {
    copy.onResponseError(null, new Error('mirror dispatch refused'));
  }
}

export function mirror(route: HttpRoute, next: Handler, limits: MirrorLimits, plan: RouteStatsPlan): Handler {
  const cluster = route.mirror;
  if (route.entry.mirror === undefined || cluster === undefined) return next;
  const name = serviceOf(cluster.id);
  const live = route.stats.mirror;
  // Counts survive a rebuilt route that still mirrors to the same Service.
  const stats = live !== undefined && live.backend === name ? live : new MirrorStats(name);
  plan.mirror = stats;
  const target = new MirrorTarget(cluster, stats, limits.mirrorMaxInFlight, limits.mirrorTimeoutMs);
  return (ex) => {
    if (ex.mirrored) send(ex, target);
    next(ex);
  };
}
