/**
 * Mirroring (`mirror-service`, `mirror-percent`): a copy of sampled requests goes to another
 * Service, beside the real request and without ever holding it up. Sampling happens in
 * replay-body (which keeps the body); this stage sends the copy as soon as the whole body is
 * known: at once for requests without a body or with a held one, when the body ends for one
 * copied while it streams. A copy is dropped (counted) when the body is over
 * `replayBodyBytes`, when `mirrorMaxInFlight` copies of the route are already out, or when the
 * mirror has no endpoint. Copies use the mirror Service's own connection pools, dial timeout
 * and passive health, and end within `mirrorTimeoutMs`.
 */
import type { HttpRoute } from '../../http/exchange.ts';
import type { ProxyLimits } from '../../limits.ts';
import { MirrorStats } from '../../metrics.ts';
import type { RouteStatsPlan } from '../../metrics.ts';
import { MirrorTarget, sendCopy } from './copy.ts';
import { mirrorWhenComplete } from '../replay-buffer.ts';
import type { Handler } from '../types.ts';

export type MirrorLimits = Pick<ProxyLimits, 'mirrorMaxInFlight' | 'mirrorTimeoutMs'>;

/** The Service name of a cluster id `namespace/name:port`. */
function serviceOf(clusterId: string): string {
  return clusterId.slice(clusterId.indexOf('/') + 1, clusterId.lastIndexOf(':'));
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
    if (ex.mirrored && !mirrorWhenComplete(ex, target)) sendCopy(ex, target);
    next(ex);
  };
}
