import { clusterBackends, serviceOfCluster } from '../../table/index.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { LocalZones } from '../ratelimit/zones.js';
import { buildPipeline } from '../stages/pipeline.js';
import { IdentityMap } from '../identity.js';
export function buildHttpRoute(entry, clusters, stats, opts) {
    const byName = new Map();
    const resolve = (b) => {
        const cluster = clusters.get(b.cluster);
        const name = serviceOfCluster(b.cluster);
        let bs = byName.get(name);
        if (bs === undefined) {
            bs = stats.backend(name);
            byName.set(name, bs);
        }
        return { cluster, weight: b.weight, stats: bs };
    };
    const backends = entry.backends.map(resolve);
    // Rule backends get their counters too, so a split target's series exist before it gets traffic.
    const rules = entry.rules.map((r) => ({ rule: r, match: r.match, backends: clusterBackends(r).map(resolve) }));
    const route = {
        id: entry.id,
        entry,
        backends,
        stats,
        defaultStats: backends[0].stats,
        retryAfterSeconds: opts.retryAfterSeconds,
        log: opts.log,
        mirror: entry.mirror !== undefined ? clusters.get(entry.mirror.cluster) : undefined,
        rules,
        affinitySecret: opts.affinitySecret ?? 'hostmesh',
        accessLog: opts.accessLog,
        tracer: opts.tracer,
        identities: opts.identities ?? new IdentityMap(),
        warnings: [],
        handle: () => { },
        complete: () => { },
    };
    const rateLimits = opts.rateLimits ?? new LocalZones();
    const zone = entry.rateLimit !== undefined ? rateLimits.zone(entry.id, entry.rateLimit) : undefined;
    const plan = { id: entry.id, stats, backends: [...byName.values()], zone };
    const pipeline = buildPipeline(route, { maxHeaderSize: opts.maxHeaderSize, limits: opts.limits ?? DEFAULT_LIMITS, plan, zones: rateLimits });
    route.handle = pipeline.handle;
    route.complete = pipeline.complete;
    return { route, stats: plan };
}
