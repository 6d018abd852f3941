/**
 * Rate limiting (`rateLimit` of a route): a token bucket per key, in the route's zone.
 *
 * Built once per route: the key expression is compiled, the zone (store) looked up, constant
 * header values prepared. Per request: the key is computed over a reused request view, one
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
import { compileKey, formatExprError } from '../../../expr/index.ts';
import type { KeyFunction } from '../../../expr/index.ts';
import type { RateLimitPolicy } from '../../../table/index.ts';
import type { HttpRoute } from '../../http/exchange.ts';
import { bucketPolicy, refusedSeconds, remainingAfter, resetSeconds } from '../../ratelimit/bucket.ts';
import { RequestView } from '../../ratelimit/request-view.ts';
import type { RateLimitZones } from '../../ratelimit/zones.ts';
import { tooManyRequests } from './response.ts';
import type { Handler } from '../types.ts';

const DEFAULT_KEY = '{remote.ip}';
const POLICY_NAME = '"hostmesh"';

/** `5 per second`, `30 per minute`. */
function formatRate(perSecond: number): string {
  const round = (n: number): number => Math.round(n * 1e6) / 1e6;
  return perSecond >= 1 ? `${round(perSecond)} per second` : `${round(perSecond * 60)} per minute`;
}

/**
 * The compiled key. A key the proxy cannot compile (the controller checks keys, so only a
 * hand-made or newer table has one) falls back to the client address rather than refusing the
 * whole table or leaving the route unlimited; the error is logged.
 */
function compiledKey(route: HttpRoute, source: string): KeyFunction {
  const r = compileKey(source);
  if (r.ok) return r.fn;
  route.log.error({ route: route.id, key: source, error: r.error.code }, `route ${route.id}: rate-limit key ${JSON.stringify(source)} does not compile, limiting by ${DEFAULT_KEY} instead: ${formatExprError(r.error)}`);
  const fallback = compileKey(DEFAULT_KEY);
  if (!fallback.ok) throw new Error(`default rate-limit key ${DEFAULT_KEY} does not compile`);
  return fallback.fn;
}

export function rateLimit(route: HttpRoute, zones: RateLimitZones, next: Handler): Handler {
  const policy: RateLimitPolicy | undefined = route.entry.rateLimit;
  if (policy === undefined) return next;
  const key = compiledKey(route, policy.key);
  const store = zones.zone(route.id, policy);
  const bucket = bucketPolicy(policy);
  const view = new RequestView();
  const stats = route.stats;
  const limit = String(policy.burst);
  const windowSeconds = Math.max(1, Math.ceil(bucket.toleranceMs / 1000 - 1e-9));
  const policyField = `${POLICY_NAME};q=${policy.burst};w=${windowSeconds}`;
  const described = `${policy.burst} request${policy.burst === 1 ? '' : 's'} at once, ${formatRate(policy.ratePerSecond)}`;
  return (ex) => {
    const k = key(view.fill(ex.req));
    view.clear();
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
      next(ex);
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
}
