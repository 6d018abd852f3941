import { fallback, randomIndex, usable } from './select.js';
/** Each usable endpoint in turn. Starts at a random place so proxies do not move in step. */
export class RoundRobinBalancer {
    #eps;
    #next;
    constructor(eps) {
        this.#eps = eps;
        this.#next = eps.length > 0 ? randomIndex(eps.length) : 0;
    }
    pick(_affinity, ctx) {
        const eps = this.#eps;
        const n = eps.length;
        for (let k = 0; k < n; k++) {
            const i = (this.#next + k) % n;
            const ep = eps[i];
            if (usable(ep, ctx)) {
                this.#next = (i + 1) % n;
                return ep;
            }
        }
        return fallback(eps, ctx);
    }
}
