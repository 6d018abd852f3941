/**
 * Every expression of a route, compiled in one place when the route is built: split-rule
 * matchers, `retry-on`, the circuit-breaker expression and the rate-limit key. The controller
 * checks expressions before they reach a table, so a failure here means a hand-made or newer
 * table; each one is reported the same way, as a route warning (in the apply result the proxy
 * reports, and logged), saying what the route does instead. Nothing is dropped silently.
 */
import { callsIn, compileBreaker, compileKey, compileMatcher } from '../../expr/index.js';
import { DEFAULT_RATE_LIMIT_KEY } from '../../table/index.js';
const alwaysMatches = () => true;
function warn(route, what, instead, e) {
    route.warnings.push(`route ${route.id}: ${what} is ignored (${instead}): ${e.code} at column ${e.column}: ${e.message}`);
}
export function compileRouteExpressions(route) {
    const entry = route.entry;
    const rules = route.rules.map((rule, i) => {
        // Structured matches (rule.rule.matches) are not expressions; gw-proxy's matcher handles them.
        if (rule.match === undefined)
            return alwaysMatches;
        const c = compileMatcher(rule.match);
        if (c.ok)
            return c.fn;
        warn(route, `rules[${i}]`, 'requests it would match use the next rule or the default backends', c.error);
        return undefined;
    });
    let retryOn;
    const on = entry.retry?.on.trim();
    if (on === 'true')
        retryOn = 'always';
    else if (on !== undefined && on !== 'false') {
        const c = compileMatcher(on);
        if (c.ok)
            retryOn = c.fn;
        else
            warn(route, 'retry-on', 'only connection failures are retried', c.error);
    }
    let breaker;
    const condition = entry.circuitBreaker?.expression;
    if (condition !== undefined) {
        const c = compileBreaker(condition);
        if (c.ok)
            breaker = { condition: c.fn, readsLatency: callsIn(condition).has('LatencyAtQuantileMS') };
        else
            warn(route, 'the circuit-breaker expression', 'the route runs without a breaker', c.error);
    }
    let rateLimitKey;
    const key = entry.rateLimit?.key;
    if (key !== undefined) {
        const c = compileKey(key);
        if (c.ok)
            rateLimitKey = c.fn;
        else {
            warn(route, 'the rate-limit key', `requests are limited by ${DEFAULT_RATE_LIMIT_KEY}`, c.error);
            const fallback = compileKey(DEFAULT_RATE_LIMIT_KEY);
            if (!fallback.ok)
                throw new Error(`the default rate-limit key ${DEFAULT_RATE_LIMIT_KEY} does not compile`);
            rateLimitKey = fallback.fn;
        }
    }
    return { rules, retryOn, breaker, rateLimitKey };
}
