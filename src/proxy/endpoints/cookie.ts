import type { Balancer } from './balancer.ts';
import type { EndpointState } from './endpoint.ts';
import { pickLeastRequest } from './least-request.ts';
import { usable } from './select.ts';
import type { PickContext } from './select.ts';

/**
 * Affinity through a proxy-set cookie whose value is the endpoint's opaque token. A request
 * without the cookie, or whose endpoint is gone or resting, gets a least-request choice (and
 * the forwarder sets the cookie to the new endpoint's token).
 */
export class CookieBalancer implements Balancer {
  readonly #eps: readonly EndpointState[];
  readonly #byToken: Map<string, EndpointState>;

  constructor(eps: readonly EndpointState[]) {
    this.#eps = eps;
    this.#byToken = new Map(eps.map((ep) => [ep.token, ep]));
  }

  pick(affinity: string | undefined, ctx: PickContext): EndpointState | undefined {
    if (affinity !== undefined) {
      const ep = this.#byToken.get(affinity);
      if (ep !== undefined && usable(ep, ctx)) return ep;
    }
    return pickLeastRequest(this.#eps, ctx);
  }
}
