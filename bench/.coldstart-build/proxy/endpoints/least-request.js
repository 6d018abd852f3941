import { fallback, randomIndex, scanFrom, usable } from './select.js';
/**
 * Least request by the power of two choices: two distinct random endpoints, the one with fewer
 * requests in flight wins. Cheap, and it avoids the herding of a global minimum.
 */
export class LeastRequestBalancer {
    #eps;
    constructor(eps) {
        this.#eps = eps;
    }
    pick(_affinity, ctx) {
        return pickLeastRequest(this.#eps, ctx);
    }
}
export function pickLeastRequest(eps, ctx) {
    const n = eps.length;
    if (n === 0)
        return undefined;
    if (n === 1)
        return eps[0];
    const i = randomIndex(n);
    let j = randomIndex(n - 1);
    if (j >= i)
        j++;
    const a = eps[i];
    const b = eps[j];
    const aOk = usable(a, ctx);
    const bOk = usable(b, ctx);
    if (aOk && bOk)
        return b.inFlight < a.inFlight ? b : a;
    if (aOk)
        return a;
    if (bOk)
        return b;
    return scanFrom(eps, i, ctx) ?? fallback(eps, ctx);
}
