/**
 * The controller's view of live traffic, from the proxies' reports (not from Prometheus): the
 * last minute of requests per route and backend summed over every proxy, which proxies report,
 * and the tap sessions whose events the reports carry.
 */
import { randomBytes } from 'node:crypto';
import { HostmeshError } from '../../common/errors.js';
export const DEFAULT_TAP_RATE = 100;
export class LiveHub {
    #windowMs;
    #reportMs;
    #tapReportMs;
    #maxTaps;
    #maxEntries;
    #forgetProxyMs;
    #now;
    #started;
    #entries = [];
    /** Index of the first live entry in `#entries`. */
    #head = 0;
    #proxies = new Map();
    #taps = new Map();
    #subs = [];
    constructor(opts = {}) {
        this.#windowMs = opts.windowMs ?? 60_000;
        this.#reportMs = opts.reportMs ?? 5000;
        this.#tapReportMs = opts.tapReportMs ?? 1000;
        this.#maxTaps = opts.maxTaps ?? 32;
        this.#maxEntries = opts.maxEntries ?? 200_000;
        this.#forgetProxyMs = opts.forgetProxyMs ?? 600_000;
        this.#now = opts.now ?? Date.now;
        this.#started = this.#now();
    }
    /** Records a (checked) report; answers with the active taps and the next interval. */
    report(r) {
        const at = this.#now();
        this.#proxies.set(r.node, { node: r.node, software: r.software, ready: r.ready, lastReport: new Date(at).toISOString(), at });
        for (const route of r.stats) {
            for (const b of route.backends) {
                this.#entries.push({ at, route: route.route, backend: b.backend, requests: b.requests, failures: b.failures, bounds: r.bounds, buckets: b.buckets });
            }
        }
        this.#prune(at);
        for (const e of r.tap) {
            for (const id of e.taps) {
                const s = this.#taps.get(id);
                if (s === undefined)
                    continue;
                try {
                    s.onEvent(e);
                }
                catch {
                    // a session's writer failing is that session's problem
                }
            }
        }
        return this.answer();
    }
    /** The answer a report gets (also what an in-process proxy reads). */
    answer() {
        return { taps: this.#subs, nextReportMs: this.#taps.size > 0 ? this.#tapReportMs : this.#reportMs };
    }
    get tapping() {
        return this.#taps.size > 0;
    }
    /** Starts a tap session; `close` ends it. Throws TAP_LIMIT when too many run. */
    tap(req, onEvent) {
        if (this.#taps.size >= this.#maxTaps)
            throw new HostmeshError('TAP_LIMIT', `${this.#taps.size} tap sessions are running, the most the controller allows; try again when one ends`);
        const id = randomBytes(8).toString('hex');
        const sub = { id, target: req.target, sample: req.sample ?? 1, maxPerSecond: req.maxPerSecond ?? DEFAULT_TAP_RATE };
        if (req.path !== undefined)
            sub.path = req.path;
        if (req.method !== undefined)
            sub.method = req.method;
        if (req.code !== undefined)
            sub.code = req.code;
        this.#taps.set(id, { sub, onEvent });
        this.#subs = [...this.#taps.values()].map((s) => s.sub);
        return {
            id,
            close: () => {
                if (!this.#taps.delete(id))
                    return;
                this.#subs = [...this.#taps.values()].map((s) => s.sub);
            },
        };
    }
    /**
     * Drops entries older than the window, and the oldest beyond `maxEntries`: the live ones start
     * at `#head`, and the array is compacted only once most of it is dead (reports stay cheap).
     */
    #prune(now) {
        const cutoff = now - this.#windowMs;
        const entries = this.#entries;
        let head = Math.max(this.#head, entries.length - this.#maxEntries);
        while (head < entries.length && entries[head].at <= cutoff)
            head++;
        if (head > 1024 && head * 2 > entries.length) {
            this.#entries = entries.slice(head);
            head = 0;
        }
        this.#head = head;
    }
    stats() {
        const now = this.#now();
        this.#prune(now);
        for (const [node, p] of this.#proxies)
            if (p.at < now - this.#forgetProxyMs)
                this.#proxies.delete(node);
        const windowSeconds = Math.max(1, Math.min(this.#windowMs, now - this.#started) / 1000);
        const routes = new Map();
        for (let i = this.#head; i < this.#entries.length; i++) {
            const e = this.#entries[i];
            const list = routes.get(e.route);
            if (list === undefined)
                routes.set(e.route, [e]);
            else
                list.push(e);
        }
        const out = [];
        for (const [route, entries] of routes)
            out.push(routeLive(route, entries, windowSeconds));
        out.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
        const proxies = [...this.#proxies.values()].map(({ node, software, ready, lastReport }) => ({ node, software, ready, lastReport }));
        return { windowSeconds, routes: out, proxies };
    }
}
function routeLive(route, entries, seconds) {
    let requests = 0;
    let failures = 0;
    const byBackend = new Map();
    const hist = new Map();
    for (const e of entries) {
        requests += e.requests;
        failures += e.failures;
        const b = byBackend.get(e.backend) ?? { requests: 0, failures: 0 };
        b.requests += e.requests;
        b.failures += e.failures;
        byBackend.set(e.backend, b);
        for (let i = 0; i < e.buckets.length; i++) {
            const le = i < e.bounds.length ? e.bounds[i] : Infinity;
            hist.set(le, (hist.get(le) ?? 0) + e.buckets[i]);
        }
    }
    const backends = [...byBackend].map(([backend, b]) => ({
        backend,
        requests: b.requests,
        share: requests > 0 ? b.requests / requests : 0,
        ratePerSecond: b.requests / seconds,
        successRate: b.requests > 0 ? 1 - b.failures / b.requests : null,
    })).toSorted((a, b) => (a.backend < b.backend ? -1 : 1));
    const sorted = [...hist].toSorted((a, b) => a[0] - b[0]);
    return {
        route,
        requests,
        ratePerSecond: requests / seconds,
        successRate: requests > 0 ? 1 - failures / requests : null,
        p50Ms: quantileMs(sorted, 0.5),
        p99Ms: quantileMs(sorted, 0.99),
        backends,
    };
}
/**
 * The q-quantile of a histogram (upper bound in seconds, count), in ms: linear interpolation
 * inside the bucket it falls in, as Prometheus' histogram_quantile does. In the +Inf bucket it
 * is the largest finite bound.
 */
export function quantileMs(buckets, q) {
    let total = 0;
    for (const [, n] of buckets)
        total += n;
    if (total === 0)
        return null;
    const rank = q * total;
    let seen = 0;
    let lower = 0;
    for (const [le, n] of buckets) {
        if (n > 0 && seen + n >= rank) {
            if (le === Infinity)
                return lower * 1000;
            return (lower + (le - lower) * ((rank - seen) / n)) * 1000;
        }
        seen += n;
        if (le !== Infinity)
            lower = le;
    }
    return lower * 1000;
}
