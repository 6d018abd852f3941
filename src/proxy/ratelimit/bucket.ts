/**
 * The token bucket of a rate-limit policy, kept as one number per key: GCRA's theoretical
 * arrival time (TAT). A bucket of `burst` tokens refilled at `ratePerSecond` admits a request at
 * `now` exactly when a token bucket would: the TAT is when the bucket would be full again, and
 * one request moves it one interval later. One number per key is what lets the shared store
 * update a bucket under a short lock, and forgetting a key whose TAT has passed loses nothing.
 */
import type { RateLimitPolicy } from '../../table/index.ts';

export interface BucketPolicy {
  /** Milliseconds one token takes to come back (1000 / rate). */
  readonly intervalMs: number;
  /** Milliseconds of debt a full burst represents (burst * interval). */
  readonly toleranceMs: number;
  /** The burst with float slack, so exactly `burst` back-to-back requests pass. */
  readonly limitMs: number;
  readonly burst: number;
}

/** Slowest rate the arithmetic accepts (one request a century); the table allows less. */
const MIN_RATE = 1 / (100 * 365 * 86_400);

export function bucketPolicy(p: Pick<RateLimitPolicy, 'ratePerSecond' | 'burst'>): BucketPolicy {
  const intervalMs = 1000 / Math.max(p.ratePerSecond, MIN_RATE);
  const toleranceMs = p.burst * intervalMs;
  return { intervalMs, toleranceMs, limitMs: toleranceMs + intervalMs * 1e-6, burst: p.burst };
}

/**
 * One request against a bucket whose TAT is `stored` (`now` or less for a full bucket). Returns
 * the TAT to store when the request is admitted, or NaN when it is refused.
 */
export function admit(stored: number, now: number, p: BucketPolicy): number {
  const next = (stored > now ? stored : now) + p.intervalMs;
  return next - now <= p.limitMs ? next : NaN;
}

/**
 * What a store's `take` returns, folded into one number so the hot path allocates nothing:
 * admitted: `tat - now` (> 0, ms until the bucket is full again);
 * refused:  `toleranceMs - (tat + interval - now)` (< 0, minus the ms until a request is admitted).
 */
export function outcome(stored: number, next: number, now: number, p: BucketPolicy): number {
  if (next === next) return next - now;
  return p.toleranceMs - ((stored > now ? stored : now) + p.intervalMs - now);
}

/** Whole requests still admitted right now after an admitted one (`v` from `take`). */
export function remainingAfter(v: number, p: BucketPolicy): number {
  const r = Math.floor((p.toleranceMs - v) / p.intervalMs + 1e-6);
  return r > 0 ? r : 0;
}

/** Seconds (rounded up) until the bucket is full again, from an admitted `v`. */
export function resetSeconds(v: number): number {
  return Math.ceil(v / 1000 - 1e-9);
}

/** For a refused `v`: seconds (at least 1) until a request is admitted, and until the bucket is full. */
export function refusedSeconds(v: number, p: BucketPolicy): { retryAfter: number; reset: number } {
  const wait = -v;
  return { retryAfter: Math.max(1, Math.ceil(wait / 1000 - 1e-9)), reset: Math.ceil((wait + p.toleranceMs - p.intervalMs) / 1000 - 1e-9) };
}
