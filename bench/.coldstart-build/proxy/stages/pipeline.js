import { DEFAULT_LIMITS } from '../limits.js';
import { LocalZones } from '../ratelimit/zones.js';
import { accessLog } from './access-log.js';
import { backendChoice } from './backend-choice/backend-choice.js';
import { circuitBreaker } from './circuit-breaker/circuit-breaker.js';
import { deliver } from './deliver.js';
import { endpointPick } from './endpoint-pick.js';
import { compileRouteExpressions } from './expressions.js';
import { forward } from './forward.js';
import { maintenance } from './maintenance.js';
import { metrics } from './metrics.js';
import { mirror } from './mirror/mirror.js';
import { rateLimit } from './rate-limit/rate-limit.js';
import { requestTimeout } from './request-timeout.js';
import { retry } from './retry/retry.js';
import { trace } from './trace.js';
/** Request stages, first to last. */
export const STAGES = [accessLog, trace, metrics, maintenance, requestTimeout, rateLimit, backendChoice, circuitBreaker, mirror, retry];
/** Attempt stages, first to last; the last one sends and never calls its `next`. */
export const ATTEMPT_STAGES = [endpointPick, forward];
const noCompletion = () => { };
const unreachable = () => {
    throw new Error('the last attempt stage called its next');
};
/** The build context of a route: its expressions compiled (failures become route warnings). */
export function stageContext(route, opts = {}) {
    let bits = 0;
    const limits = opts.limits ?? DEFAULT_LIMITS;
    const base = {
        route,
        limits,
        zones: opts.zones ?? new LocalZones(),
        plan: opts.plan ?? { id: route.id, stats: route.stats, backends: [] },
        expressions: compileRouteExpressions(route),
        maxHeaderSize: opts.maxHeaderSize ?? limits.maxHeaderSize,
        mark: () => {
            if (bits >= 31)
                throw new Error('more than 31 stages mark exchanges');
            return 1 << bits++;
        },
    };
    let attempt = unreachable;
    for (let i = ATTEMPT_STAGES.length - 1; i >= 0; i--)
        attempt = ATTEMPT_STAGES[i](base, attempt);
    return { ...base, attempt };
}
/** Composes `stages` over a context; the end of the chain delivers one attempt. */
export function compose(ctx, stages = STAGES) {
    let link = { handle: deliver(ctx.attempt), complete: noCompletion };
    for (let i = stages.length - 1; i >= 0; i--)
        link = stages[i](ctx, link);
    return link;
}
/** Builds the route's handler and completion (HttpRoute.handle and .complete). */
export function buildPipeline(route, opts) {
    return compose(stageContext(route, opts));
}
/** One stage in front of `handle`, for tests and benches: the stage's handler. */
export function stageHandler(stage, ctx, handle) {
    return stage(ctx, { handle, complete: noCompletion }).handle;
}
