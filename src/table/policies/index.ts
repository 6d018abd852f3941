/**
 * The route policies: one module each (type, validation, HTTP-only flag, shared defaults), the
 * RouteEntry fields they own, and the list the validator and the proxy engine walk.
 */
import { ACCESS } from './access.ts';
import type { AccessPolicy } from './access.ts';
import { CIRCUIT_BREAKER } from './circuit-breaker.ts';
import type { CircuitBreakerPolicy } from './circuit-breaker.ts';
import { MAINTENANCE } from './maintenance.ts';
import type { MaintenancePolicy } from './maintenance.ts';
import { MIRROR } from './mirror.ts';
import type { MirrorPolicy } from './mirror.ts';
import type { RoutePolicy } from './policy.ts';
import { RATE_LIMIT } from './rate-limit.ts';
import type { RateLimitPolicy } from './rate-limit.ts';
import { REQUEST_TIMEOUT } from './request-timeout.ts';
import { RETRY } from './retry.ts';
import type { RetryPolicy } from './retry.ts';
import { STICKY_COOKIE } from './sticky-cookie.ts';

/** The policy fields of a RouteEntry (all optional: absent means off). */
export interface RoutePolicies {
  /** Whole-request deadline including retries, in ms. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  rateLimit?: RateLimitPolicy;
  /** Cookie that pins a client to the backend cluster chosen first (HTTP only). */
  stickyCookie?: string;
  mirror?: MirrorPolicy;
  circuitBreaker?: CircuitBreakerPolicy;
  /** When set the route answers 503 with this reason and does not contact any backend. */
  maintenance?: MaintenancePolicy;
  /** ACL mode: only the identities listed may use the route (route level only, never on a rule). */
  access?: AccessPolicy;
}

export const ROUTE_POLICIES: readonly RoutePolicy[] = [REQUEST_TIMEOUT, RETRY, RATE_LIMIT, STICKY_COOKIE, MIRROR, CIRCUIT_BREAKER, MAINTENANCE, ACCESS];

export type { RouteCheck, RoutePolicy } from './policy.ts';
export * from './access.ts';
export * from './circuit-breaker.ts';
export * from './load-balancer.ts';
export * from './maintenance.ts';
export * from './mirror.ts';
export * from './rate-limit.ts';
export * from './request-timeout.ts';
export * from './retry.ts';
export * from './sticky-cookie.ts';
export * from './tokens.ts';
