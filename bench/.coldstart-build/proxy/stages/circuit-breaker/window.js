const BUCKETS = 10;
/** Histogram: 256 exact bins (0..255 ms), then 64 per doubling up to 2^22 ms (70 minutes). */
const EXACT_BITS = 8;
const EXACT = 1 << EXACT_BITS;
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const MAX_EXP = 21;
const BINS = EXACT + (MAX_EXP - EXACT_BITS + 1) * SUB;
export function latencyBin(ms) {
    const v = ms >= 0 ? Math.floor(ms) : 0;
    if (v < EXACT)
        return v;
    if (v >= 2 ** (MAX_EXP + 1))
        return BINS - 1;
    const e = 31 - Math.clz32(v);
    const sub = (v >>> (e - SUB_BITS)) & (SUB - 1);
    return EXACT + (e - EXACT_BITS) * SUB + sub;
}
/** The value a bin stands for: itself when exact, else the low end of its range. */
export function binValue(bin) {
    if (bin < EXACT)
        return bin;
    const e = Math.floor((bin - EXACT) / SUB) + EXACT_BITS;
    const sub = (bin - EXACT) % SUB;
    return (SUB + sub) * 2 ** (e - SUB_BITS);
}
class Bucket {
    /** Which slice of time (now / bucketMs) this bucket holds; -1 when empty. */
    slice = -1;
    total = 0;
    netErrors = 0;
    codes = new Map();
    latency = undefined;
    reuse(slice) {
        this.slice = slice;
        this.total = 0;
        this.netErrors = 0;
        this.codes.clear();
        this.latency?.fill(0);
    }
}
export class RollingWindow {
    #bucketMs;
    #latency;
    #buckets = Array.from({ length: BUCKETS }, () => new Bucket());
    /** The slice reads are relative to; set by `at(now)` before an expression runs. */
    #slice = 0;
    /** @param latency keep the latency histogram (only breakers that read LatencyAtQuantileMS need it) */
    constructor(windowMs, latency) {
        this.#bucketMs = Math.max(1, windowMs / BUCKETS);
        this.#latency = latency;
    }
    record(status, ms, now) {
        const slice = Math.floor(now / this.#bucketMs);
        const b = this.#buckets[slice % BUCKETS];
        if (b.slice !== slice)
            b.reuse(slice);
        b.total++;
        if (status === 502 || status === 504)
            b.netErrors++;
        b.codes.set(status, (b.codes.get(status) ?? 0) + 1);
        if (this.#latency)
            (b.latency ??= new Uint32Array(BINS))[latencyBin(ms)]++;
    }
    /** Reads from now on see the window ending at `now`. */
    at(now) {
        this.#slice = Math.floor(now / this.#bucketMs);
        return this;
    }
    /** Forgets everything (the breaker tripped: recovery is judged on fresh results). */
    reset() {
        for (const b of this.#buckets)
            b.slice = -1;
    }
    #live(b) {
        return b.slice >= 0 && b.slice <= this.#slice && b.slice > this.#slice - BUCKETS;
    }
    total() {
        let n = 0;
        for (const b of this.#buckets)
            if (this.#live(b))
                n += b.total;
        return n;
    }
    networkErrorRatio() {
        let total = 0;
        let errors = 0;
        for (const b of this.#buckets) {
            if (!this.#live(b))
                continue;
            total += b.total;
            errors += b.netErrors;
        }
        return total === 0 ? 0 : errors / total;
    }
    responseCodeRatio(from, to, dividedByFrom, dividedByTo) {
        let a = 0;
        let d = 0;
        for (const b of this.#buckets) {
            if (!this.#live(b))
                continue;
            for (const [code, n] of b.codes) {
                if (code >= from && code < to)
                    a += n;
                if (code >= dividedByFrom && code < dividedByTo)
                    d += n;
            }
        }
        return d === 0 ? 0 : a / d;
    }
    latencyAtQuantileMS(quantile) {
        let total = 0;
        for (const b of this.#buckets)
            if (this.#live(b) && b.latency !== undefined)
                total += b.total;
        if (total === 0)
            return 0;
        // The smallest value with at least quantile% of the results at or below it.
        const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, quantile)) / 100) * total));
        let seen = 0;
        for (let bin = 0; bin < BINS; bin++) {
            for (const b of this.#buckets)
                if (this.#live(b) && b.latency !== undefined)
                    seen += b.latency[bin];
            if (seen >= rank)
                return binValue(bin);
        }
        return binValue(BINS - 1);
    }
}
