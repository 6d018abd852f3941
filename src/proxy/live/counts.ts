/**
 * What a proxy thread tells its reporter: cumulative request counts per route and backend
 * (read from the metric cells the hot path already keeps, so stats cost requests nothing) and
 * the tap events since the last call.
 */
import type { RouteDelta, TapEvent, TapSubscription } from '../../table/live.ts';
import type { ProxyMetrics } from '../metrics.ts';
import { DURATION_BUCKETS } from '../metrics.ts';
import type { TapRegistry } from './tap.ts';

export interface LiveSample {
  /** Cumulative since the thread started; per-bucket latency counts for `DURATION_BUCKETS`. */
  counts: RouteDelta[];
  tap: TapEvent[];
  tapDropped: number;
}

/** What a proxy host (one engine, or a worker pool) answers to its reporter. */
export interface LiveSource {
  /** Installs `taps` (the whole active set) and returns the counts and the tap events since the last call. */
  live(taps: readonly TapSubscription[]): Promise<LiveSample>;
}

export function routeCounts(metrics: ProxyMetrics): RouteDelta[] {
  const out: RouteDelta[] = [];
  for (const [route, r] of metrics.entries()) {
    if (!r.http) continue;
    const backends = [];
    for (const b of r.backends.values()) {
      let requests = 0;
      let failures = 0;
      for (const cell of b.requests.values()) {
        requests += cell.count;
        if (cell.code >= 500) failures += cell.count;
      }
      const buckets = Array.from({ length: DURATION_BUCKETS.length + 1 }, () => 0);
      for (const d of b.durations.values()) for (let i = 0; i < buckets.length; i++) buckets[i]! += d.buckets[i]!;
      backends.push({ backend: b.backend, requests, failures, buckets });
    }
    out.push({ route, backends });
  }
  return out;
}

/** One thread's sample: install the taps, then read counts and drain events. */
export function sampleLive(metrics: ProxyMetrics, taps: TapRegistry, subs: readonly TapSubscription[]): LiveSample {
  taps.sync(subs, metrics.entries());
  const { events, dropped } = taps.buffer.drain();
  return { counts: routeCounts(metrics), tap: events, tapDropped: dropped };
}

/** Sums several threads' samples (a worker pool). */
export function mergeSamples(samples: readonly LiveSample[]): LiveSample {
  const routes = new Map<string, Map<string, RouteDelta['backends'][number]>>();
  const tap: TapEvent[] = [];
  let tapDropped = 0;
  for (const s of samples) {
    for (const r of s.counts) {
      let bs = routes.get(r.route);
      if (bs === undefined) routes.set(r.route, (bs = new Map()));
      for (const b of r.backends) {
        const have = bs.get(b.backend);
        if (have === undefined) {
          bs.set(b.backend, { ...b, buckets: [...b.buckets] });
          continue;
        }
        have.requests += b.requests;
        have.failures += b.failures;
        for (let i = 0; i < have.buckets.length; i++) have.buckets[i]! += b.buckets[i] ?? 0;
      }
    }
    for (const e of s.tap) tap.push(e);
    tapDropped += s.tapDropped;
  }
  return { counts: [...routes].map(([route, bs]) => ({ route, backends: [...bs.values()] })), tap, tapDropped };
}
