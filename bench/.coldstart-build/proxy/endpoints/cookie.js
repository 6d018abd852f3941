import { pickLeastRequest } from './least-request.js';
import { usable } from './select.js';
/**
 * Affinity through a proxy-set cookie whose value is the endpoint's opaque token. A request
 * without the cookie, or whose endpoint is gone or resting, gets a least-request choice (and
 * the forwarder sets the cookie to the new endpoint's token).
 */
export class CookieBalancer {
    #eps;
    #byToken;
    constructor(eps) {
        this.#eps = eps;
        this.#byToken = new Map(eps.map((ep) => [ep.token, ep]));
    }
    pick(affinity, ctx) {
        if (affinity !== undefined) {
            const ep = this.#byToken.get(affinity);
            if (ep !== undefined && usable(ep, ctx))
                return ep;
        }
        return pickLeastRequest(this.#eps, ctx);
    }
}
