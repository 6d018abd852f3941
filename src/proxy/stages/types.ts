/**
 * The stage contract. Every policy is a stage, built once per route when a table is applied,
 * from one build context (`StageContext`): `(ctx, next) => link`. A link is the request
 * handler and the completion of the exchange; a stage wraps the next stage's handler (to act
 * on the request, answer it, or pass it on) and its completion (to observe how the exchange
 * ended: metrics, the circuit breaker's window, the access log). A stage whose setting is absent
 * returns `next` itself, so it costs nothing. `pipeline.ts` composes the ordered list.
 *
 *   request stages  Handler = (ex) => void, in the order of STAGES in pipeline.ts
 *   attempt stages  AttemptHandler = (ex, done) => void: endpoint pick -> forward
 *
 * The last request stage (retry, or deliver without a retry policy) runs the attempt chain; an
 * attempt reports to `done` with either a failure or a response head that is not yet sent, so
 * retry can look at it and try again (see docs/proxy-internals.md).
 */
import type { AttemptDone, Exchange, HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import type { RouteExpressions } from './expressions.ts';

export type Handler = (ex: Exchange) => void;
export type AttemptHandler = (ex: Exchange, done: AttemptDone) => void;
/** How an exchange ended, told once: its status and the time it finished (performance.now()). */
export type Completion = (ex: Exchange, status: number, now: number) => void;

/** A stage's view of what follows it: the handler to pass requests to, and the completion to wrap. */
export interface Link {
  readonly handle: Handler;
  readonly complete: Completion;
}

/** Everything a stage is built from, once per route. */
export interface StageContext {
  readonly route: HttpRoute;
  /** Policy limits (replay buffer, backoff, mirror bounds, breaker durations). */
  readonly limits: Readonly<ProxyLimits>;
  /** Rate-limit zones; the engine's, so buckets outlive a rebuilt route. */
  readonly zones: RateLimitZones;
  /** The route's metrics plan: stages declare the series they expose. */
  readonly plan: RouteStatsPlan;
  /** Every expression of the route, compiled once; failures are already route warnings. */
  readonly expressions: RouteExpressions;
  /** Largest backend response head accepted on an upgrade relay, in bytes. */
  readonly maxHeaderSize: number;
  /** The attempt chain (endpoint pick -> forward), for the stage that runs attempts. */
  readonly attempt: AttemptHandler;
  /**
   * A bit of `Exchange.marks` of the stage's own, for a stage that must know at completion
   * whether the exchange passed it (the breaker records only requests it let through).
   */
  mark(): number;
  /**
   * The stages after this one composed over `route` (a route rule's view of the route:
   * rule-dispatch builds one branch per rule), sharing this route's marks, metrics plan and
   * `share` cache. Built once, when the route is.
   */
  branch(route: HttpRoute): Link;
  /**
   * One value per `key` across the route's branches: a stage keeps state of a policy the rules
   * inherit (one circuit breaker, one mirror budget per policy object) with `share(policy, make)`.
   */
  share<T>(key: object, make: () => T): T;
}

export type Stage = (ctx: StageContext, next: Link) => Link;
export type AttemptStage = (ctx: Omit<StageContext, 'attempt'>, next: AttemptHandler) => AttemptHandler;
