/**
 * The route policies: one module each (type, validation, HTTP-only flag, shared defaults), the
 * RouteEntry fields they own, and the list the validator and the proxy engine walk.
 */
import { ACCESS } from './access.js';
import { CIRCUIT_BREAKER } from './circuit-breaker.js';
import { MAINTENANCE } from './maintenance.js';
import { MIRROR } from './mirror.js';
import { RATE_LIMIT } from './rate-limit.js';
import { REQUEST_TIMEOUT } from './request-timeout.js';
import { RETRY } from './retry.js';
import { STICKY_COOKIE } from './sticky-cookie.js';
export const ROUTE_POLICIES = [REQUEST_TIMEOUT, RETRY, RATE_LIMIT, STICKY_COOKIE, MIRROR, CIRCUIT_BREAKER, MAINTENANCE, ACCESS];
export * from './access.js';
export * from './circuit-breaker.js';
export * from './load-balancer.js';
export * from './maintenance.js';
export * from './mirror.js';
export * from './rate-limit.js';
export * from './request-timeout.js';
export * from './retry.js';
export * from './sticky-cookie.js';
export * from './tokens.js';
