/**
 * The last request stage: runs one attempt and sends its outcome to the client (commit the
 * response, or the proxy's error page). The retry stage of a later issue replaces this with a
 * loop over attempts; everything before and after stays as it is.
 */
import type { AttemptDone } from '../http/exchange.ts';
import type { AttemptHandler, Handler } from './types.ts';
import type { HttpRoute } from '../http/exchange.ts';

const onOutcome: AttemptDone = (ex, a) => {
  if (ex.done) {
    a.discard();
    return;
  }
  if (a.failure !== undefined) ex.fail(a.failure);
  else a.commit();
};

export function deliver(_route: HttpRoute, attempt: AttemptHandler): Handler {
  return (ex) => attempt(ex, onOutcome);
}
