/**
 * Where a rate-limited route keeps its buckets (one store per route and policy: a "zone").
 * Two implementations: `LruBucketStore` (a Map in one thread, exact LRU) and
 * `SharedBucketStore` (a SharedArrayBuffer every worker thread updates with Atomics).
 */
export interface RateLimitStore {
  /** The store's clock in ms (shared stores use one clock across threads). */
  now(): number;
  /**
   * Spends one token of `key`'s bucket at `now`. Returns > 0 when admitted (ms until the bucket
   * is full again), < 0 when refused (minus the ms until a request would be admitted): see
   * `outcome` in bucket.ts.
   */
  take(key: string, now: number): number;
  /** Keys remembered now; never more than `capacity`. */
  readonly size: number;
  /** Keys remembered at most: the zone size (the shared store rounds it up to whole sets). */
  readonly capacity: number;
  /** Keys forgotten while their bucket was not yet full (their debt was lost). */
  readonly evictions: number;
}
