/**
 * Mirroring (`mirror-service`, `mirror-percent`): a copy of sampled requests goes to another
 * Service, beside the real request and without ever holding it up. This stage samples, asks the
 * replay buffer for the body, and sends the copy as soon as the whole body is known: at once for
 * requests without a body or with a held one, when the body ends for one copied while it
 * streams. A copy is dropped (counted) when the body is over `replayBodyBytes`, when
 * `mirrorMaxInFlight` copies of the route are already out, or when the mirror has no endpoint.
 * Copies use the mirror Service's own connection pools, dial timeout and passive health, and end
 * within `mirrorTimeoutMs`. Upgrades are never mirrored.
 */
import { serviceOfCluster } from '../../../table/index.ts';
import { MirrorStats } from '../../metrics.ts';
import { keepBody } from '../replay-buffer.ts';
import type { BodyKept } from '../replay-buffer.ts';
import type { Stage } from '../types.ts';
import { MirrorTarget, sendCopy } from './copy.ts';

/** Decides per request whether it is copied; undefined when nothing ever is. */
function sampler(percent: number): (() => boolean) | undefined {
  if (percent <= 0) return undefined;
  if (percent >= 100) return () => true;
  return () => Math.random() * 100 < percent;
}

export const mirror: Stage = (ctx, next) => {
  const route = ctx.route;
  const cluster = route.mirror;
  const policy = route.entry.mirror;
  if (policy === undefined || cluster === undefined) return next;
  const name = serviceOfCluster(cluster.id);
  const live = route.stats.mirror;
  // Counts survive a rebuilt route that still mirrors to the same Service; rules that inherit
  // the route's mirror share its counts and in-flight bound.
  const { stats, target } = ctx.share(policy, () => {
    const s = live !== undefined && live.backend === name ? live : new MirrorStats(name);
    return { stats: s, target: new MirrorTarget(cluster, s, ctx.limits.mirrorMaxInFlight, ctx.limits.mirrorTimeoutMs) };
  });
  // The series shows the route's mirror (built first), else the first rule's.
  ctx.plan.mirror ??= stats;
  const sample = sampler(policy.percent);
  if (sample === undefined) return next;
  const max = ctx.limits.replayBodyBytes;
  const send: BodyKept = (ex, kept) => {
    if (kept) sendCopy(ex, target);
    else stats.dropped++;
  };
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      if (ex.socket !== undefined || !sample()) handle(ex);
      else keepBody(ex, max, handle, send);
    },
    complete,
  };
};
