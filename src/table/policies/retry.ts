/** Retries (`RouteEntry.retry`). */
import { MAX_MS } from '../checker.ts';
import type { RoutePolicy } from './policy.ts';

export interface RetryPolicy {
  /** Retries after the first attempt; absent means bounded by `durationMs` only. */
  count?: number;
  /** Stop retrying once this long has passed since the first attempt, in ms. */
  durationMs?: number;
  /** Matcher expression: which requests may be retried after they were sent. */
  on: string;
  /** Statuses that count as retriable failures, as inclusive ranges. */
  codes: [number, number][];
  /**
   * Least wait before each retry, in ms (Gateway API `retry.backoff`); the wait doubles per
   * retry from there (jittered, never below this). Absent: the proxy's default backoff.
   */
  backoffMs?: number;
}

export const MAX_RETRY_COUNT = 100;

export const RETRY: RoutePolicy<'retry'> = {
  field: 'retry',
  httpOnly: true,
  validate: (v, { c, path }) => {
    const rt = c.object(v, path);
    if (!rt) return;
    if (c.optional(rt, 'count')) c.integer(rt.count, `${path}.count`, 0, MAX_RETRY_COUNT);
    if (c.optional(rt, 'durationMs')) c.integer(rt.durationMs, `${path}.durationMs`, 1, MAX_MS);
    if (rt.count === undefined && rt.durationMs === undefined) c.fail(path, 'needs count or durationMs');
    c.string(rt.on, `${path}.on`, { nonEmpty: true });
    if (c.optional(rt, 'backoffMs')) c.integer(rt.backoffMs, `${path}.backoffMs`, 0, MAX_MS);
    c.array(rt.codes, `${path}.codes`).forEach((range, k) => {
      const ok = Array.isArray(range) && range.length === 2 &&
        range.every((n) => Number.isInteger(n) && n >= 100 && n <= 599) && range[0] <= range[1];
      if (!ok) c.fail(`${path}.codes[${k}]`, `must be [from, to] with 100 <= from <= to <= 599, got ${JSON.stringify(range)}`);
    });
  },
};
