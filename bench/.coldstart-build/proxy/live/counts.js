import { DURATION_BUCKETS } from '../metrics.js';
export function routeCounts(metrics) {
    const out = [];
    for (const [route, r] of metrics.entries()) {
        if (!r.http)
            continue;
        const backends = [];
        for (const b of r.backends.values()) {
            let requests = 0;
            let failures = 0;
            for (const cell of b.requests.values()) {
                requests += cell.count;
                if (cell.code >= 500)
                    failures += cell.count;
            }
            const buckets = Array.from({ length: DURATION_BUCKETS.length + 1 }, () => 0);
            for (const d of b.durations.values())
                for (let i = 0; i < buckets.length; i++)
                    buckets[i] += d.buckets[i];
            backends.push({ backend: b.backend, requests, failures, buckets });
        }
        out.push({ route, backends });
    }
    return out;
}
/** One thread's sample: install the taps, then read counts and drain events. */
export function sampleLive(metrics, taps, subs) {
    taps.sync(subs, metrics.entries());
    const { events, dropped } = taps.buffer.drain();
    return { counts: routeCounts(metrics), tap: events, tapDropped: dropped };
}
/** Sums several threads' samples (a worker pool). */
export function mergeSamples(samples) {
    const routes = new Map();
    const tap = [];
    let tapDropped = 0;
    for (const s of samples) {
        for (const r of s.counts) {
            let bs = routes.get(r.route);
            if (bs === undefined)
                routes.set(r.route, (bs = new Map()));
            for (const b of r.backends) {
                const have = bs.get(b.backend);
                if (have === undefined) {
                    bs.set(b.backend, { ...b, buckets: [...b.buckets] });
                    continue;
                }
                have.requests += b.requests;
                have.failures += b.failures;
                for (let i = 0; i < have.buckets.length; i++)
                    have.buckets[i] += b.buckets[i] ?? 0;
            }
        }
        for (const e of s.tap)
            tap.push(e);
        tapDropped += s.tapDropped;
    }
    return { counts: [...routes].map(([route, bs]) => ({ route, backends: [...bs.values()] })), tap, tapDropped };
}
