/**
 * The stage contract. A stage is built once per route when a table is applied:
 * `(route, next) => handler`. The handler runs per request with one small context object (the
 * Exchange) and either answers or calls `next`. There are two chains:
 *
 *   request stages  Handler = (ex) => void
 *     access control -> rate limit -> split/match -> circuit breaker -> retry loop
 *   attempt stages  AttemptHandler = (ex, done) => void
 *     endpoint pick -> forward
 *
 * The last request stage runs the attempt chain; an attempt reports to `done` with either a
 * failure or a response head that is not yet sent, so a retry stage can look at it and try
 * again (see docs/proxy-internals.md).
 */
import type { AttemptDone, Exchange, HttpRoute } from '../http/exchange.ts';

export type Handler = (ex: Exchange) => void;
export type AttemptHandler = (ex: Exchange, done: AttemptDone) => void;

export type Stage = (route: HttpRoute, next: Handler) => Handler;
export type AttemptStage = (route: HttpRoute, next: AttemptHandler) => AttemptHandler;
