/**
 * Rate limiting (`rateLimit` of a route): a token bucket per key, in the route's zone.
 *
 * Built once per route: the zone (store) looked up, constant header values prepared (the key is
 * compiled with the route's other expressions). Per request: the key is computed over the
 * route's request view, one
 * `take` on the store, then either the request goes on with RateLimit-* fields added to its
 * response, or it is answered 429 here and counted in `hostmesh_rate_limited_total`.
 *
 * Fields (every response of a rate-limited route):
 *   RateLimit-Limit      the burst (requests admitted at once from a full bucket)
 *   RateLimit-Remaining  requests admitted right now, after this one
 *   RateLimit-Reset      seconds until the bucket is full again (rounded up)
 *   RateLimit-Policy     `"hostmesh";q=<burst>;w=<seconds to refill a burst>` (IETF draft)
 *   RateLimit            `"hostmesh";r=<remaining>;t=<reset>` (IETF draft)
 * and on a 429, Retry-After: seconds until a request is admitted (rounded up, at least 1).
 */
import type { Exchange } from '../../http/exchange.ts';
import { bucketPolicy, refusedSeconds, remainingAfter, resetSeconds } from '../../ratelimit/bucket.ts';
import { RequestView } from '../request-view.ts';
import type { Stage } from '../types.ts';
import { tooManyRequests } from './response.ts';

const POLICY_NAME = '"hostmesh"';

/** `5 per second`, `30 per minute`. */
function formatRate(perSecond: number): string {
  const round = (n: number): number => Math.round(n * 1e6) / 1e6;
  return perSecond >= 1 ? `${round(perSecond)} per second` : `${round(perSecond * 60)} per minute`;
}

export const rateLimit: Stage = (ctx, next) => {
  const route = ctx.route;
  const policy = route.entry.rateLimit;
  const key = ctx.expressions.rateLimitKey;
  if (policy === undefined || key === undefined) return next;
  const store = ctx.zones.zone(route.id, policy);
  const bucket = bucketPolicy(policy);
  const view = new RequestView();
  const stats = route.stats;
  const limit = String(policy.burst);
  const windowSeconds = Math.max(1, Math.ceil(bucket.toleranceMs / 1000 - 1e-9));
  const policyField = `${POLICY_NAME};q=${policy.burst};w=${windowSeconds}`;
  const described = `${policy.burst} request${policy.burst === 1 ? '' : 's'} at once, ${formatRate(policy.ratePerSecond)}`;
  const { handle, complete } = next;
  const limited = (ex: Exchange): void => {
    view.bind(ex.req, ex.method);
    let k: string;
    try {
      k = key(view);
    } finally {
      view.unbind();
    }
    const v = store.take(k, store.now());
    if (v > 0) {
      const remaining = String(remainingAfter(v, bucket));
      const reset = String(resetSeconds(v));
      (ex.extraHeaders ??= []).push(
        'ratelimit-limit', limit,
        'ratelimit-remaining', remaining,
        'ratelimit-reset', reset,
        'ratelimit-policy', policyField,
        'ratelimit', `${POLICY_NAME};r=${remaining};t=${reset}`,
      );
      handle(ex);
      return;
    }
    stats.rateLimited++;
    const s = refusedSeconds(v, bucket);
    const reset = String(s.reset);
    tooManyRequests(ex, s.retryAfter, [
      'ratelimit-limit', limit,
      'ratelimit-remaining', '0',
      'ratelimit-reset', reset,
      'ratelimit-policy', policyField,
      'ratelimit', `${POLICY_NAME};r=0;t=${reset}`,
    ], described);
  };
  return { handle: limited, complete };
};
