/**
 * The route's whole-request deadline (`requestTimeoutMs`), retries included. Before the
 * response head reached the client the request gets a 504; after, the connection is cut. The
 * timer is cleared when the exchange completes.
 */
import type { Exchange } from '../http/exchange.ts';
import type { Stage } from './types.ts';

function onDeadline(ex: Exchange): void {
  ex.expire();
}

export const requestTimeout: Stage = (ctx, next) => {
  const ms = ctx.route.entry.requestTimeoutMs;
  if (ms === undefined) return next;
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      ex.deadline = setTimeout(onDeadline, ms, ex);
      handle(ex);
    },
    complete: (ex, status, now) => {
      if (ex.deadline !== undefined) {
        clearTimeout(ex.deadline);
        ex.deadline = undefined;
      }
      complete(ex, status, now);
    },
  };
};
