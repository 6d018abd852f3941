/**
 * Request metrics: every exchange of the route is counted when it completes, on the chosen
 * backend's series (or the route's first backend's when none was chosen), by method and status,
 * with its duration.
 */
import type { Stage } from './types.ts';

export const metrics: Stage = (ctx, next) => {
  const fallback = ctx.route.defaultStats;
  const { complete } = next;
  return {
    handle: next.handle,
    complete: (ex, status, now) => {
      const stats = ex.backend !== undefined ? ex.backend.stats : fallback;
      stats.record(ex.methodIdx, status, (now - ex.start) / 1000);
      complete(ex, status, now);
    },
  };
};
