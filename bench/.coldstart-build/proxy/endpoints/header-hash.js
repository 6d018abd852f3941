import { fnv1a } from './hash.js';
import { pickLeastRequest } from './least-request.js';
import { fallback, usable } from './select.js';
/** Points per endpoint on the ring: enough for an even spread, small enough to build fast. */
const VNODES = 100;
/**
 * Affinity by hashing a header value onto a consistent-hash ring, so adding or removing an
 * endpoint moves only that endpoint's share of keys. Unusable endpoints are skipped by walking
 * the ring; a request without the header gets a least-request choice.
 */
export class HeaderHashBalancer {
    #eps;
    #points;
    #owners;
    constructor(eps) {
        this.#eps = eps;
        const entries = [];
        eps.forEach((ep, i) => {
            for (let v = 0; v < VNODES; v++)
                entries.push({ point: fnv1a(`${ep.key}#${v}`), owner: i });
        });
        entries.sort((a, b) => a.point - b.point || a.owner - b.owner);
        this.#points = Uint32Array.from(entries, (e) => e.point);
        this.#owners = Uint32Array.from(entries, (e) => e.owner);
    }
    pick(affinity, ctx) {
        const eps = this.#eps;
        if (affinity === undefined || eps.length === 0)
            return pickLeastRequest(eps, ctx);
        const points = this.#points;
        const start = lowerBound(points, fnv1a(affinity));
        // Walk at most one full turn; distinct owners are few, so this ends quickly.
        for (let k = 0; k < points.length; k++) {
            const ep = eps[this.#owners[(start + k) % points.length]];
            if (usable(ep, ctx))
                return ep;
        }
        return fallback(eps, ctx);
    }
}
/** Index of the first point >= h, wrapping to 0 past the end. */
function lowerBound(points, h) {
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (points[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo === points.length ? 0 : lo;
}
