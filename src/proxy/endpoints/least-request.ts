import type { Balancer } from './balancer.ts';
import type { EndpointState } from './endpoint.ts';
import { fallback, randomIndex, scanFrom, usable } from './select.ts';
import type { PickContext } from './select.ts';

/**
 * Least request by the power of two choices: two distinct random endpoints, the one with fewer
 * requests in flight wins. Cheap, and it avoids the herding of a global minimum.
 */
export class LeastRequestBalancer implements Balancer {
  readonly #eps: readonly EndpointState[];

  constructor(eps: readonly EndpointState[]) {
    this.#eps = eps;
  }

  pick(_affinity: string | undefined, ctx: PickContext): EndpointState | undefined {
    return pickLeastRequest(this.#eps, ctx);
  }
}

export function pickLeastRequest(eps: readonly EndpointState[], ctx: PickContext): EndpointState | undefined {
  const n = eps.length;
  if (n === 0) return undefined;
  if (n === 1) return eps[0];
  const i = randomIndex(n);
  let j = randomIndex(n - 1);
  if (j >= i) j++;
  const a = eps[i]!;
  const b = eps[j]!;
  const aOk = usable(a, ctx);
  const bOk = usable(b, ctx);
  if (aOk && bOk) return b.inFlight < a.inFlight ? b : a;
  if (aOk) return a;
  if (bOk) return b;
  return scanFrom(eps, i, ctx) ?? fallback(eps, ctx);
}
