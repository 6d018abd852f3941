import { RETRY_REASONS } from '../../metrics.js';
import { keepBody } from '../replay-buffer.js';
import { RequestView } from '../request-view.js';
import { backoffMs, CONNECT, failureReason, NOT_RETRIABLE, STATUS, statusMatcher } from './policy.js';
/** Whether the request body (if any) can be sent once more. */
function canResend(ex) {
    return !ex.hasBody || ex.body !== undefined || !ex.bodyTaken;
}
/** The last request stage: without a retry policy, `next` (deliver: one attempt) stays. */
export const retry = (ctx, next) => {
    const route = ctx.route;
    const policy = route.entry.retry;
    if (policy === undefined)
        return next;
    const attempt = ctx.attempt;
    const limits = ctx.limits;
    const maxRetries = policy.count ?? Number.POSITIVE_INFINITY;
    const maxMs = policy.durationMs ?? Number.POSITIVE_INFINITY;
    const retriableStatus = statusMatcher(policy.codes);
    const baseMs = limits.retryBackoffBaseMs;
    const capMs = limits.retryBackoffMaxMs;
    for (const b of route.backends)
        b.stats.retries ??= new Float64Array(RETRY_REASONS.length);
    ctx.plan.retries = true;
    const on = ctx.expressions.retryOn;
    const view = new RequestView();
    const maxBody = limits.replayBodyBytes;
    const again = (ex) => {
        if (!ex.done)
            attempt(ex, onOutcome);
    };
    const onOutcome = (ex, a) => {
        if (ex.done) {
            a.discard();
            return;
        }
        let reason = NOT_RETRIABLE;
        if (a.failure !== undefined)
            reason = failureReason(a.failure);
        else if (retriableStatus(a.status))
            reason = STATUS;
        if (reason !== NOT_RETRIABLE &&
            ex.retries < maxRetries &&
            performance.now() - ex.firstAttemptAt < maxMs &&
            (reason === CONNECT || (ex.retryOn && canResend(ex)))) {
            ex.retries++;
            ex.backend.stats.retries[reason]++;
            if (a.endpoint !== undefined)
                (ex.tried ??= new Set()).add(a.endpoint);
            // A failed connect never read the streamed body (undici reads it once connected), so the
            // next attempt may stream it.
            if (reason === CONNECT)
                ex.bodyTaken = false;
            a.discard();
            setTimeout(again, backoffMs(ex.retries, baseMs, capMs), ex);
            return;
        }
        if (a.failure !== undefined)
            ex.fail(a.failure);
        else
            a.commit();
    };
    const first = (ex) => {
        ex.firstAttemptAt = performance.now();
        attempt(ex, onOutcome);
    };
    /** Whether `retry-on` matches; upgrades are never retried after they were sent. */
    const matches = (ex) => {
        if (on === undefined || ex.socket !== undefined)
            return false;
        if (on === 'always')
            return true;
        view.bind(ex.req, ex.method);
        try {
            return on(view);
        }
        finally {
            view.unbind();
        }
    };
    return {
        handle: (ex) => {
            ex.retryOn = matches(ex);
            if (ex.retryOn)
                keepBody(ex, maxBody, first);
            else
                first(ex);
        },
        complete: next.complete,
    };
};
