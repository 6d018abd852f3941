import type { EndpointState } from './endpoint.ts';
import type { PickContext } from './select.ts';

/**
 * A load-balancing strategy over one endpoint list. Built when the list changes (a table
 * apply), so per-request work is only the choice itself.
 */
export interface Balancer {
  /** `affinity` is the cookie or header value for affinity balancers, else ignored. */
  pick(affinity: string | undefined, ctx: PickContext): EndpointState | undefined;
}
