/**
 * The retry loop (`retry-count`, `retry-duration`, `retry-on`, `retry-codes`): the last request
 * stage, in place of `deliver` on routes that retry. Each outcome of an attempt is judged
 * before anything reaches the client (attempts hand over the response head unsent):
 *
 * - a failed connect (refused, unreachable, dial timeout) never reached the backend, so it is
 *   retried whatever `retry-on` says;
 * - a reset, a read or write timeout, or a status in `retry-codes` is retried only when the
 *   request matched `retry-on` and its body can be sent again (none, or kept: a request that
 *   matched asks the replay buffer for its body before the first attempt);
 * - while retries remain (`count`) and time remains (`duration`, measured from the first
 *   attempt); the route's request timeout bounds everything, backoffs included.
 *
 * Each retry waits a jittered backoff and asks the pick for an endpoint this request has not
 * tried yet. Once a response is committed nothing is retried: later failures cut the client.
 */
import type { AttemptDone, Exchange } from '../../http/exchange.ts';
import { RETRY_REASONS } from '../../metrics.ts';
import { keepBody } from '../replay-buffer.ts';
import { RequestView } from '../request-view.ts';
import type { Handler, Stage } from '../types.ts';
import { backoffMs, CONNECT, failureReason, NOT_RETRIABLE, STATUS, statusMatcher } from './policy.ts';

/** Whether the request body (if any) can be sent once more. */
function canResend(ex: Exchange): boolean {
  return !ex.hasBody || ex.body !== undefined || !ex.bodyTaken;
}

/** The last request stage: without a retry policy, `next` (deliver: one attempt) stays. */
export const retry: Stage = (ctx, next) => {
  const route = ctx.route;
  const policy = route.entry.retry;
  if (policy === undefined) return next;
  const attempt = ctx.attempt;
  const limits = ctx.limits;
  const maxRetries = policy.count ?? Number.POSITIVE_INFINITY;
  const maxMs = policy.durationMs ?? Number.POSITIVE_INFINITY;
  const retriableStatus = statusMatcher(policy.codes);
  // A policy's own backoff (Gateway API `retry.backoff`) is the least wait: the jittered wait
  // lies in [d/2, d], so d starts at twice it.
  const baseMs = policy.backoffMs === undefined ? limits.retryBackoffBaseMs : 2 * policy.backoffMs;
  const capMs = policy.backoffMs === undefined ? limits.retryBackoffMaxMs : Math.max(limits.retryBackoffMaxMs, baseMs);
  for (const b of route.backends) b.stats.retries ??= new Float64Array(RETRY_REASONS.length);
  ctx.plan.retries = true;
  const on = ctx.expressions.retryOn;
  const view = new RequestView();
  const maxBody = limits.replayBodyBytes;

  const again = (ex: Exchange): void => {
    if (!ex.done) attempt(ex, onOutcome);
  };

  const onOutcome: AttemptDone = (ex, a) => {
    if (ex.done) {
      a.discard();
      return;
    }
    let reason = NOT_RETRIABLE;
    if (a.failure !== undefined) reason = failureReason(a.failure);
    else if (retriableStatus(a.status)) reason = STATUS;
    if (
      reason !== NOT_RETRIABLE &&
      ex.retries < maxRetries &&
      performance.now() - ex.firstAttemptAt < maxMs &&
      (reason === CONNECT || (ex.retryOn && canResend(ex)))
    ) {
      ex.retries++;
      ex.backend!.stats.retries![reason]!++;
      if (a.endpoint !== undefined) (ex.tried ??= new Set()).add(a.endpoint);
      // A failed connect never read the streamed body (undici reads it once connected), so the
      // next attempt may stream it.
      if (reason === CONNECT) ex.bodyTaken = false;
      a.discard();
      setTimeout(again, backoffMs(ex.retries, baseMs, capMs), ex);
      return;
    }
    if (a.failure !== undefined) ex.fail(a.failure);
    else a.commit();
  };

  const first: Handler = (ex) => {
    ex.firstAttemptAt = performance.now();
    attempt(ex, onOutcome);
  };

  /** Whether `retry-on` matches; upgrades are never retried after they were sent. */
  const matches = (ex: Exchange): boolean => {
    if (on === undefined || ex.socket !== undefined) return false;
    if (on === 'always') return true;
    view.bind(ex.req, ex.method);
    try {
      return on(view);
    } finally {
      view.unbind();
    }
  };

  return {
    handle: (ex) => {
      ex.retryOn = matches(ex);
      if (ex.retryOn) keepBody(ex, maxBody, first);
      else first(ex);
    },
    complete: next.complete,
  };
};
