/** Slowest rate the arithmetic accepts (one request a century); the table allows less. */
const MIN_RATE = 1 / (100 * 365 * 86_400);
export function bucketPolicy(p) {
    const intervalMs = 1000 / Math.max(p.ratePerSecond, MIN_RATE);
    const toleranceMs = p.burst * intervalMs;
    return { intervalMs, toleranceMs, limitMs: toleranceMs + intervalMs * 1e-6, burst: p.burst };
}
/**
 * One request against a bucket whose TAT is `stored` (`now` or less for a full bucket). Returns
 * the TAT to store when the request is admitted, or NaN when it is refused.
 */
export function admit(stored, now, p) {
    const next = (stored > now ? stored : now) + p.intervalMs;
    return next - now <= p.limitMs ? next : NaN;
}
/**
 * What a store's `take` returns, folded into one number so the hot path allocates nothing:
 * admitted: `tat - now` (> 0, ms until the bucket is full again);
 * refused:  `toleranceMs - (tat + interval - now)` (< 0, minus the ms until a request is admitted).
 */
export function outcome(stored, next, now, p) {
    if (next === next)
        return next - now;
    return p.toleranceMs - ((stored > now ? stored : now) + p.intervalMs - now);
}
/** Whole requests still admitted right now after an admitted one (`v` from `take`). */
export function remainingAfter(v, p) {
    const r = Math.floor((p.toleranceMs - v) / p.intervalMs + 1e-6);
    return r > 0 ? r : 0;
}
/** Seconds (rounded up) until the bucket is full again, from an admitted `v`. */
export function resetSeconds(v) {
    return Math.ceil(v / 1000 - 1e-9);
}
/** For a refused `v`: seconds (at least 1) until a request is admitted, and until the bucket is full. */
export function refusedSeconds(v, p) {
    const wait = -v;
    return { retryAfter: Math.max(1, Math.ceil(wait / 1000 - 1e-9)), reset: Math.ceil((wait + p.toleranceMs - p.intervalMs) / 1000 - 1e-9) };
}
