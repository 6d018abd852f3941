/** Rate limiting (`RouteEntry.rateLimit`): a token bucket per key, in a zone per route. */
import type { RoutePolicy } from './policy.ts';

export interface RateLimitPolicy {
  /** Sustained rate in requests per second (a per-minute rate is divided by 60). */
  ratePerSecond: number;
  /** Bucket size: requests allowed at once. */
  burst: number;
  /** Key expression source (key context): placeholders such as `{remote.ip}` or an expression. */
  key: string;
  /** Keys remembered (LRU). */
  zoneSize: number;
}

/** The key when none is given: one bucket per client address. */
export const DEFAULT_RATE_LIMIT_KEY = '{remote.ip}';
/** Keys remembered when no zone size is given. */
export const DEFAULT_RATE_LIMIT_ZONE_SIZE = 10_000;

export const RATE_LIMIT: RoutePolicy<'rateLimit'> = {
  field: 'rateLimit',
  httpOnly: true,
  validate: (v, { c, path }) => {
    const rl = c.object(v, path);
    if (!rl) return;
    c.number(rl.ratePerSecond, `${path}.ratePerSecond`, Number.MIN_VALUE, 1e9);
    c.integer(rl.burst, `${path}.burst`, 1, 1e9);
    c.string(rl.key, `${path}.key`, { nonEmpty: true });
    c.integer(rl.zoneSize, `${path}.zoneSize`, 1, 10_000_000);
  },
};
