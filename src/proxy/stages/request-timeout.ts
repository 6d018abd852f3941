/**
 * The route's whole-request deadline (`requestTimeoutMs`), retries included. Before the
 * response head reached the client the request gets a 504; after, the connection is cut. The
 * deadline is on the shared ticker (http/coarse-timer.ts), disarmed when the exchange completes.
 */
import { arm, disarm } from '../http/coarse-timer.ts';
import type { Stage } from './types.ts';

export const requestTimeout: Stage = (ctx, next) => {
  const ms = ctx.route.entry.requestTimeoutMs;
  if (ms === undefined) return next;
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      arm(ex, ms);
      handle(ex);
    },
    complete: (ex, status, now) => {
      disarm(ex);
      complete(ex, status, now);
    },
  };
};
