/**
 * What every route policy module (this folder) declares: the RouteEntry field it owns, whether
 * it only means something on http routes, and how its part of a table is validated. The table
 * validator, the proxy engine (which warns about HTTP-only policies on TCP/UDP routes) and the
 * controller's annotation keys all read these, so a policy's rules live in one place.
 */
import type { RoutePolicies } from './index.ts';
import type { Checker, Obj } from '../checker.ts';

/** The route being validated, for checks that look beyond the policy's own value. */
export interface RouteCheck {
  readonly c: Checker;
  /** JSON path of the policy's value, e.g. `$.routes[2].retry`. */
  readonly path: string;
  readonly route: Obj;
  /** Checks a reference to a cluster of the table (exists, same protocol as the route). */
  cluster(id: unknown, path: string): void;
}

export interface RoutePolicy<K extends keyof RoutePolicies = keyof RoutePolicies> {
  /** The RouteEntry field, also the policy's name in proxy warnings. */
  readonly field: K;
  /** Only http routes apply it; on tcp and udp routes it is ignored (with a warning). */
  readonly httpOnly: boolean;
  /** Checks a present value (untrusted input). */
  validate(value: unknown, check: RouteCheck): void;
}
