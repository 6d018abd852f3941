/**
 * Helpers every balancer shares: whether an endpoint may be used now, and the fallback when
 * the balancer's own choice found nothing usable.
 */
import type { EndpointHandle } from '../types.ts';
import type { EndpointState } from './endpoint.ts';

/** What a balancer needs besides the endpoint list; rebuilt by nothing per request. */
export interface PickContext {
  /** Already tried by this request; skipped unless nothing else is left. */
  exclude: ReadonlySet<EndpointHandle> | undefined;
  /** Current clock, read lazily: only resting endpoints need it. */
  now: () => number;
}

/** Neither resting nor excluded. */
export function usable(ep: EndpointState, ctx: PickContext): boolean {
  if (ep.restUntil !== 0 && ep.restUntil > ctx.now()) return false;
  return ctx.exclude === undefined || !ctx.exclude.has(ep);
}

/**
 * The choice when no endpoint is usable: resting endpoints are used anyway rather than failing
 * the request (least loaded first), then excluded ones.
 */
export function fallback(eps: readonly EndpointState[], ctx: PickContext): EndpointState | undefined {
  let best: EndpointState | undefined;
  let bestExcluded: EndpointState | undefined;
  for (const ep of eps) {
    if (ctx.exclude !== undefined && ctx.exclude.has(ep)) {
      if (bestExcluded === undefined || ep.inFlight < bestExcluded.inFlight) bestExcluded = ep;
    } else if (best === undefined || ep.inFlight < best.inFlight) {
      best = ep;
    }
  }
  return best ?? bestExcluded;
}

/** First usable endpoint scanning from `start`, wrapping around. */
export function scanFrom(eps: readonly EndpointState[], start: number, ctx: PickContext): EndpointState | undefined {
  const n = eps.length;
  for (let k = 0; k < n; k++) {
    const ep = eps[(start + k) % n]!;
    if (usable(ep, ctx)) return ep;
  }
  return undefined;
}

export function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}
