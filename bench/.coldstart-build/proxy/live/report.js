import { DURATION_BUCKETS } from '../metrics.js';
/** Most tap events in one report; more are counted as dropped (the per-proxy cap). */
export const MAX_TAP_PER_REPORT = 1000;
export class ReportBuilder {
    #id;
    #last = new Map();
    constructor(id) {
        this.#id = id;
    }
    build(sample) {
        const next = new Map();
        const stats = [];
        for (const r of sample.counts) {
            const backends = [];
            for (const b of r.backends) {
                const key = `${r.route}\u0000${b.backend}`;
                next.set(key, b);
                const prev = this.#last.get(key);
                const reset = prev === undefined || b.requests < prev.requests;
                const requests = reset ? b.requests : b.requests - prev.requests;
                if (requests === 0)
                    continue;
                backends.push({
                    backend: b.backend,
                    requests,
                    failures: reset ? b.failures : Math.max(0, b.failures - prev.failures),
                    buckets: reset ? b.buckets : b.buckets.map((n, i) => Math.max(0, n - (prev.buckets[i] ?? 0))),
                });
            }
            if (backends.length > 0)
                stats.push({ route: r.route, backends });
        }
        this.#last = next;
        const node = this.#id.node;
        const tap = sample.tap.length > MAX_TAP_PER_REPORT ? sample.tap.slice(0, MAX_TAP_PER_REPORT) : sample.tap;
        for (const e of tap)
            e.node = node;
        return {
            node,
            software: this.#id.software,
            ready: this.#id.ready(),
            bounds: [...DURATION_BUCKETS],
            stats,
            tap,
            tapDropped: sample.tapDropped + (sample.tap.length - tap.length),
        };
    }
}
