/** The route policies, in the order the validator checks them. */
import { CIRCUIT_BREAKER } from './circuit-breaker.ts';
import { MAINTENANCE } from './maintenance.ts';
import { MIRROR } from './mirror.ts';
import type { RoutePolicy } from './policy.ts';
import { RATE_LIMIT } from './rate-limit.ts';
import { REQUEST_TIMEOUT } from './request-timeout.ts';
import { RETRY } from './retry.ts';
import { STICKY_COOKIE } from './sticky-cookie.ts';

export const ROUTE_POLICIES: readonly RoutePolicy[] = [REQUEST_TIMEOUT, RETRY, RATE_LIMIT, STICKY_COOKIE, MIRROR, CIRCUIT_BREAKER, MAINTENANCE];

export type { RouteCheck, RoutePolicy } from './policy.ts';
export * from './circuit-breaker.ts';
export * from './load-balancer.ts';
export * from './maintenance.ts';
export * from './mirror.ts';
export * from './rate-limit.ts';
export * from './request-timeout.ts';
export * from './retry.ts';
export * from './sticky-cookie.ts';
export * from './tokens.ts';
