/**
 * Open-loop latency: requests are sent on a fixed schedule whatever the responses do (64
 * keep-alive connections; a request finding all of them busy waits in the pool's queue and
 * that wait counts), so a slow proxy shows up as latency instead of silently lowering the rate
 * (the coordinated omission of closed-loop tools such as wrk).
 *
 * Each latency runs from the moment the request was handed to the client, not from its due
 * time: Node's timers fire up to a millisecond late, which would add the generator's own jitter
 * to every figure. How late the generator was (its lag behind the schedule) is reported, so a
 * generator that could not keep up is visible; with the lag small, nothing is omitted.
 */
import { Pool } from 'undici';

export interface LatencyResult {
  sent: number;
  failed: number;
  /** Achieved send rate over the measured part. */
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** 99th percentile of how late sends were against the schedule, in ms. */
  lagP99: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Run { latencies: Float64Array; lags: Float64Array; failed: number; seconds: number }

/** Sends `total` requests at `ratePerSecond`; resolves with each one's latency in ms. */
function schedule(pool: Pool, path: string, ratePerSecond: number, total: number): Promise<Run> {
  const interval = 1000 / ratePerSecond;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  let sent = 0;
  let finished = 0;
  let failed = 0;
  let lastSend = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    const send = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const i = sent++;
        const at = performance.now();
        lags[i] = at - (start + i * interval);
        lastSend = at;
        pool.request({ path, method: 'GET' }).then(async (r) => {
          await r.body.dump();
          latencies[i] = performance.now() - at;
        }, () => {
          failed++;
          latencies[i] = performance.now() - at;
        }).finally(() => {
          if (++finished === total) resolve({ latencies, lags, failed, seconds: (lastSend - start) / 1000 });
        });
      }
      if (sent < total) setTimeout(send, Math.max(0, start + sent * interval - performance.now()));
    };
    send();
  });
}

/** `warmupSeconds` of unmeasured load first, on the same connections. */
export async function fixedRate(url: string, ratePerSecond: number, durationSeconds: number, warmupSeconds = 1): Promise<LatencyResult> {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections: 64, pipelining: 1 });
  if (warmupSeconds > 0) await schedule(pool, pathname, ratePerSecond, Math.round(ratePerSecond * warmupSeconds));
  const total = Math.round(ratePerSecond * durationSeconds);
  const { latencies, lags, failed, seconds } = await schedule(pool, pathname, ratePerSecond, total);
  await pool.close();
  const sorted = latencies.toSorted();
  return {
    sent: total, failed, rate: seconds > 0 ? (total - 1) / seconds : Number.NaN,
    p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), p999: quantile(sorted, 0.999), max: sorted[sorted.length - 1] ?? Number.NaN,
    lagP99: quantile(lags.toSorted(), 0.99),
  };
}
