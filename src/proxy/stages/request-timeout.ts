/**
 * The route's whole-request deadline (`requestTimeoutMs`), retries included. Before the
 * response head reached the client the request gets a 504; after, the connection is cut.
 */
import type { Exchange } from '../http/exchange.ts';
import type { Stage } from './types.ts';

function onDeadline(ex: Exchange): void {
  ex.expire();
}

export const requestTimeout: Stage = (route, next) => {
  const ms = route.entry.requestTimeoutMs;
  if (ms === undefined) return next;
  return (ex) => {
    ex.deadline = setTimeout(onDeadline, ms, ex);
    next(ex);
  };
};
