import { fallback, randomIndex, scanFrom, usable } from './select.js';
/** A uniformly random usable endpoint. */
export class RandomBalancer {
    #eps;
    constructor(eps) {
        this.#eps = eps;
    }
    pick(_affinity, ctx) {
        const eps = this.#eps;
        if (eps.length === 0)
            return undefined;
        const i = randomIndex(eps.length);
        const ep = eps[i];
        if (usable(ep, ctx))
            return ep;
        // A resting endpoint's share moves to the next one: fine for a random balancer.
        return scanFrom(eps, i, ctx) ?? fallback(eps, ctx);
    }
}
