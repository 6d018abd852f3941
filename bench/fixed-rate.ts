/**
 * Open-loop latency: requests are sent on a fixed schedule whatever the responses do, and each
 * latency is measured from the moment the request was *due*, so a stall shows up as latency
 * instead of silently lowering the rate (coordinated omission).
 */
import { Pool } from 'undici';

export interface LatencyResult {
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sends `total` requests at `ratePerSecond`; resolves with each one's latency in ms. */
function schedule(pool: Pool, path: string, ratePerSecond: number, total: number): Promise<{ latencies: Float64Array; failed: number }> {
  const interval = 1000 / ratePerSecond;
  const latencies = new Float64Array(total);
  let sent = 0;
  let finished = 0;
  let failed = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    const send = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const due = start + sent * interval;
        const i = sent++;
        pool.request({ path, method: 'GET' }).then(async (r) => {
          await r.body.dump();
          latencies[i] = performance.now() - due;
        }, () => {
          failed++;
          latencies[i] = performance.now() - due;
        }).finally(() => {
          if (++finished === total) resolve({ latencies, failed });
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
  const { latencies, failed } = await schedule(pool, pathname, ratePerSecond, total);
  await pool.close();
  const sorted = latencies.toSorted();
  return { sent: total, failed, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), p999: quantile(sorted, 0.999), max: sorted[sorted.length - 1] ?? Number.NaN };
}
