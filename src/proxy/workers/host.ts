/**
 * Creates the proxy the CLI runs: one ProxyEngine in this thread for `--workers 1`, a pool of
 * worker threads otherwise (`auto` = as many as the container's CPU and memory limits hold, see
 * sizing.ts; each worker's heap limited from the memory limit).
 */
import { availableParallelism } from 'node:os';
import { HostmeshError } from '../../common/errors.ts';
import type { ProxyEngineOptions } from '../engine.ts';
import type { RateLimitStoreKind } from '../ratelimit/zones.ts';
import { planWorkers, readContainerLimits } from './sizing.ts';
import type { WorkerPlan } from './sizing.ts';
import type { ProxyHost } from './types.ts';

/**
 * The engine's options, except the rate-limit zones (the host chooses them) and the L4 factories
 * (functions cannot reach worker threads). `reusePort` matters with one thread (several proxies
 * on one host); workers always use it. An access log sink object works only without workers.
 */
export interface ProxyHostOptions extends Omit<ProxyEngineOptions, 'rateLimits' | 'l4'> {
  /** Worker threads, or `auto` (sized from the cgroup's limits). 1 runs the proxy in this thread. */
  workers?: number | 'auto';
  /** The cgroup directory the limits are read from (tests); default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Rate-limit store of a single-thread proxy (workers always share): default `lru`. */
  rateLimitStore?: RateLimitStoreKind;
}

export function resolveWorkers(workers: number | 'auto' | undefined, cgroupRoot?: string): WorkerPlan {
  if (workers === undefined) workers = 1;
  if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1)) throw new HostmeshError('WORKERS_INVALID', `--workers must be a whole number >= 1 or auto, got ${workers}`);
  return planWorkers(workers, readContainerLimits(cgroupRoot), availableParallelism());
}

export async function createProxyHost(opts: ProxyHostOptions = {}): Promise<ProxyHost> {
  const plan = resolveWorkers(opts.workers, opts.cgroupRoot);
  const workers = plan.workers;
  if (opts.workers === 'auto') opts.log?.info({ workers, heapMbPerWorker: plan.heapMb, why: plan.reason }, 'proxy sizing');
  const common = { host: opts.host, limits: opts.limits, log: opts.log, registry: opts.registry, processMetrics: opts.processMetrics, affinitySecret: opts.affinitySecret, tracing: opts.tracing };
  // Loaded on demand: with workers the main thread never needs the engine's modules (undici,
  // the HTTP stack), which would cost it memory for nothing.
  if (workers === 1) {
    const [{ ProxyEngine }, { LocalZones }] = await Promise.all([import('../engine.ts'), import('../ratelimit/zones.ts')]);
    return new ProxyEngine({ ...common, reusePort: opts.reusePort ?? false, accessLog: opts.accessLog, rateLimits: new LocalZones(opts.rateLimitStore ?? 'lru') });
  }
  const { WorkerPool } = await import('./pool.ts');
  if (opts.accessLog !== undefined && typeof opts.accessLog !== 'boolean') {
    throw new HostmeshError('ACCESS_LOG_SINK_WITH_WORKERS', 'an access log sink object cannot cross worker threads; use accessLog: true (stdout)');
  }
  return WorkerPool.start({ ...common, workers, heapMb: plan.heapMb, accessLog: opts.accessLog === true });
}
