/**
 * The end of the request chain: runs one attempt and sends its outcome to the client (commit
 * the response, or the proxy's error page). The retry stage replaces it with a loop over
 * attempts on routes that retry.
 */
import type { AttemptDone } from '../http/exchange.ts';
import type { AttemptHandler, Handler } from './types.ts';

const onOutcome: AttemptDone = (ex, a) => {
  if (ex.done) {
    a.discard();
    return;
  }
  if (a.failure !== undefined) ex.fail(a.failure);
  else a.commit();
};

export function deliver(attempt: AttemptHandler): Handler {
  return (ex) => attempt(ex, onOutcome);
}
