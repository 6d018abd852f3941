export class Backoff {
    initialMs;
    maxMs;
    #factor;
    #random;
    #nominal;
    constructor(options = {}) {
        this.initialMs = Math.max(1, options.initialMs ?? 100);
        this.maxMs = Math.max(this.initialMs, options.maxMs ?? 10_000);
        this.#factor = Math.max(1, options.factor ?? 2);
        this.#random = options.random ?? Math.random;
        this.#nominal = this.initialMs;
    }
    /** The next delay in ms, in [nominal/2, nominal]; the nominal delay then grows. */
    next() {
        const d = this.#nominal;
        this.#nominal = Math.min(this.maxMs, d * this.#factor);
        const r = Math.min(1, Math.max(0, this.#random()));
        return Math.round(d / 2 + (r * d) / 2);
    }
    reset() {
        this.#nominal = this.initialMs;
    }
}
