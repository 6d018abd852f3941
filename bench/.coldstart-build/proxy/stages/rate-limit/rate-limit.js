import { bucketPolicy, refusedSeconds, remainingAfter, resetSeconds } from '../../ratelimit/bucket.js';
import { RequestView } from '../request-view.js';
import { tooManyRequests } from './response.js';
const POLICY_NAME = '"hostmesh"';
/** `5 per second`, `30 per minute`. */
function formatRate(perSecond) {
    const round = (n) => Math.round(n * 1e6) / 1e6;
    return perSecond >= 1 ? `${round(perSecond)} per second` : `${round(perSecond * 60)} per minute`;
}
export const rateLimit = (ctx, next) => {
    const route = ctx.route;
    const policy = route.entry.rateLimit;
    const key = ctx.expressions.rateLimitKey;
    if (policy === undefined || key === undefined)
        return next;
    const store = ctx.zones.zone(route.id, policy);
    const bucket = bucketPolicy(policy);
    const view = new RequestView();
    const stats = route.stats;
    const limit = String(policy.burst);
    const windowSeconds = Math.max(1, Math.ceil(bucket.toleranceMs / 1000 - 1e-9));
    const policyField = `${POLICY_NAME};q=${policy.burst};w=${windowSeconds}`;
    const described = `${policy.burst} request${policy.burst === 1 ? '' : 's'} at once, ${formatRate(policy.ratePerSecond)}`;
    const { handle, complete } = next;
    const limited = (ex) => {
        view.bind(ex.req, ex.method);
        let k;
        try {
            k = key(view);
        }
        finally {
            view.unbind();
        }
        const v = store.take(k, store.now());
        if (v > 0) {
            const remaining = String(remainingAfter(v, bucket));
            const reset = String(resetSeconds(v));
            (ex.extraHeaders ??= []).push('ratelimit-limit', limit, 'ratelimit-remaining', remaining, 'ratelimit-reset', reset, 'ratelimit-policy', policyField, 'ratelimit', `${POLICY_NAME};r=${remaining};t=${reset}`);
            handle(ex);
            return;
        }
        stats.rateLimited++;
        const s = refusedSeconds(v, bucket);
        const reset = String(s.reset);
        tooManyRequests(ex, s.retryAfter, [
            'ratelimit-limit', limit,
            'ratelimit-remaining', '0',
            'ratelimit-reset', reset,
            'ratelimit-policy', policyField,
            'ratelimit', `${POLICY_NAME};r=0;t=${reset}`,
        ], described);
    };
    return { handle: limited, complete };
};
