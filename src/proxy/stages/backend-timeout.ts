/**
 * The backend timeout of a rule (`backendTimeoutMs`, Gateway API `timeouts.backendRequest`): the
 * longest wait for one attempt's response head. When it passes the attempt is cancelled and
 * reported as a read timeout (504, or another try where the rule's retry allows), so it bounds
 * each retry on its own while `requestTimeoutMs` bounds them all. An attempt stage, first of the
 * attempt chain; absent without the setting.
 */
import type { AttemptDone, Exchange, UpstreamAttempt } from '../http/exchange.ts';
import type { EndpointHandle } from '../types.ts';
import type { AttemptStage } from './types.ts';

/** What the timed-out attempt reports: its endpoint (so a retry tries another), a read timeout. */
class TimedOut implements UpstreamAttempt {
  readonly endpoint: EndpointHandle | undefined;
  readonly failure = 'read-timeout' as const;
  readonly status = 0;
  readonly headers = undefined;

  constructor(endpoint: EndpointHandle | undefined) {
    this.endpoint = endpoint;
  }

  commit(): void {}
  discard(): void {}
  cancel(): void {}
}

export const backendTimeout: AttemptStage = (ctx, next) => {
  const ms = ctx.route.rule?.rule.backendTimeoutMs;
  if (ms === undefined) return next;
  return (ex: Exchange, done: AttemptDone) => {
    let over = false;
    const timer = setTimeout(() => {
      over = true;
      const a = ex.attempt;
      a?.cancel();
      if (!ex.done) done(ex, new TimedOut(a?.endpoint));
    }, ms);
    next(ex, (e, a) => {
      if (over) {
        a.discard();
        return;
      }
      clearTimeout(timer);
      done(e, a);
    });
  };
};
