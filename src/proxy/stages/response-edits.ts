/**
 * Applies the response header edits of the rule's and the chosen backend's filters
 * (`ex.ruleResponseEdit`, `ex.backendResponseEdit`) to each attempt's response head before it
 * is judged (retry) and sent. An attempt stage wrapping the outcome callback; absent on routes
 * whose filters edit no response.
 */
import type { AttemptDone } from '../http/exchange.ts';
import { editsResponses } from './filters/filters.ts';
import type { AttemptStage } from './types.ts';

function editing(done: AttemptDone): AttemptDone {
  return (ex, a) => {
    const h = a.headers;
    if (h !== undefined) {
      ex.ruleResponseEdit?.(h);
      ex.backendResponseEdit?.(h);
    }
    done(ex, a);
  };
}

export const responseEdits: AttemptStage = (ctx, next) => {
  if (!editsResponses(ctx.route)) return next;
  // The outcome callback is one per chain (deliver's or retry's): wrapped once, not per attempt.
  let last: AttemptDone | undefined;
  let wrapped: AttemptDone | undefined;
  return (ex, done) => {
    if (done !== last) {
      last = done;
      wrapped = editing(done);
    }
    next(ex, wrapped!);
  };
};
