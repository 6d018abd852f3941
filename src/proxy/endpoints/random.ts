import type { Balancer } from './balancer.ts';
import type { EndpointState } from './endpoint.ts';
import { fallback, randomIndex, scanFrom, usable } from './select.ts';
import type { PickContext } from './select.ts';

/** A uniformly random usable endpoint. */
export class RandomBalancer implements Balancer {
  readonly #eps: readonly EndpointState[];

  constructor(eps: readonly EndpointState[]) {
    this.#eps = eps;
  }

  pick(_affinity: string | undefined, ctx: PickContext): EndpointState | undefined {
    const eps = this.#eps;
    if (eps.length === 0) return undefined;
    const i = randomIndex(eps.length);
    const ep = eps[i]!;
    if (usable(ep, ctx)) return ep;
    // A resting endpoint's share moves to the next one: fine for a random balancer.
    return scanFrom(eps, i, ctx) ?? fallback(eps, ctx);
  }
}
