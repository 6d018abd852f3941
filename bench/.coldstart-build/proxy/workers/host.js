/**
 * Creates the proxy the CLI runs: one ProxyEngine in this thread for `--workers 1`, a pool of
 * worker threads otherwise (`auto` = as many as the container's CPU and memory limits hold, see
 * sizing.ts; each worker's heap limited from the memory limit).
 */
import { availableParallelism } from 'node:os';
import { HostmeshError } from '../../common/errors.js';
import { planWorkers, readContainerLimits } from './sizing.js';
export function resolveWorkers(workers, cgroupRoot) {
    if (workers === undefined)
        workers = 1;
    if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1))
        throw new HostmeshError('WORKERS_INVALID', `--workers must be a whole number >= 1 or auto, got ${workers}`);
    return planWorkers(workers, readContainerLimits(cgroupRoot), availableParallelism());
}
export async function createProxyHost(opts = {}) {
    const plan = resolveWorkers(opts.workers, opts.cgroupRoot);
    const workers = plan.workers;
    if (opts.workers === 'auto')
        opts.log?.info({ workers, heapMbPerWorker: plan.heapMb, why: plan.reason }, 'proxy sizing');
    const common = { host: opts.host, limits: opts.limits, log: opts.log, registry: opts.registry, processMetrics: opts.processMetrics, affinitySecret: opts.affinitySecret, tracing: opts.tracing };
    // Loaded on demand: with workers the main thread never needs the engine's modules (undici,
    // the HTTP stack), which would cost it memory for nothing.
    if (workers === 1) {
        const [{ ProxyEngine }, { LocalZones }] = await Promise.all([import('../engine.js'), import('../ratelimit/zones.js')]);
        return new ProxyEngine({ ...common, reusePort: opts.reusePort ?? false, accessLog: opts.accessLog, rateLimits: new LocalZones(opts.rateLimitStore ?? 'lru') });
    }
    const { WorkerPool } = await import('./pool.js');
    if (opts.accessLog !== undefined && typeof opts.accessLog !== 'boolean') {
        throw new HostmeshError('ACCESS_LOG_SINK_WITH_WORKERS', 'an access log sink object cannot cross worker threads; use accessLog: true (stdout)');
    }
    return WorkerPool.start({ ...common, workers, heapMb: plan.heapMb, accessLog: opts.accessLog === true });
}
