/**
 * Smooth weighted round robin (the nginx algorithm): over any window of sum(weights) picks each
 * item is chosen exactly weight times, interleaved rather than in bursts. Used once per request
 * (HTTP) or connection (TCP) to choose a route's backend cluster.
 */
export class WeightedChoice {
    items;
    #weights;
    #current;
    /** Items with weight 0 never get picked and are dropped here. */
    constructor(entries) {
        const live = entries.filter((e) => e.weight > 0);
        this.items = live.map((e) => e.item);
        this.#weights = Float64Array.from(live, (e) => e.weight);
        this.#current = new Float64Array(live.length);
    }
    /** The next item among those `accept` allows (all when omitted); undefined when none. */
    next(accept) {
        const items = this.items;
        const n = items.length;
        if (n === 1)
            return accept === undefined || accept(items[0]) ? items[0] : undefined;
        const w = this.#weights;
        const cw = this.#current;
        let total = 0;
        let best = -1;
        for (let i = 0; i < n; i++) {
            if (accept !== undefined && !accept(items[i]))
                continue;
            cw[i] += w[i];
            total += w[i];
            if (best < 0 || cw[i] > cw[best])
                best = i;
        }
        if (best < 0)
            return undefined;
        cw[best] -= total;
        return items[best];
    }
}
