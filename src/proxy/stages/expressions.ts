/**
 * Every expression of a route, compiled in one place when the route is built: split-rule
 * matchers, `retry-on`, the circuit-breaker expression and the rate-limit key. The controller
 * checks expressions before they reach a table, so a failure here means a hand-made or newer
 * table; each one is reported the same way, as a route warning (in the apply result the proxy
 * reports, and logged), saying what the route does instead. Nothing is dropped silently.
 */
import { callsIn, compileBreaker, compileKey, compileMatcher } from '../../expr/index.ts';
import type { Breaker, ExprError, KeyFunction, Matcher } from '../../expr/index.ts';
import { DEFAULT_RATE_LIMIT_KEY } from '../../table/index.ts';
import type { HttpRoute } from '../http/exchange.ts';

export interface RouteExpressions {
  /** One per `route.rules` entry, in order; undefined for a rule that does not compile. */
  readonly rules: readonly (Matcher | undefined)[];
  /** `retry-on`: 'always', a matcher, or undefined when it never matches (or does not compile). */
  readonly retryOn: Matcher | 'always' | undefined;
  /** The circuit-breaker condition, and whether it reads latencies (the window keeps them only then). */
  readonly breaker: { readonly condition: Breaker; readonly readsLatency: boolean } | undefined;
  /** The rate-limit key; `{remote.ip}` when the route's does not compile. */
  readonly rateLimitKey: KeyFunction | undefined;
}

const alwaysMatches: Matcher = () => true;

function warn(route: HttpRoute, what: string, instead: string, e: ExprError): void {
  const text = `route ${route.id}: ${what} is ignored (${instead}): ${e.code} at column ${e.column}: ${e.message}`;
  // A rule's branch compiles the policies it inherits once more, into the same warnings.
  if (!route.warnings.includes(text)) route.warnings.push(text);
}

export function compileRouteExpressions(route: HttpRoute): RouteExpressions {
  const entry = route.entry;
  const rules = route.rules.map((rule, i) => {
    // Structured matches (rule.rule.matches) are not expressions: rule-dispatch compiles them.
    if (rule.match === undefined) return alwaysMatches;
    const c = compileMatcher(rule.match);
    if (c.ok) return c.fn;
    warn(route, `rules[${i}]`, 'requests it would match use the next rule or the default backends', c.error);
    return undefined;
  });

  let retryOn: RouteExpressions['retryOn'];
  const on = entry.retry?.on.trim();
  if (on === 'true') retryOn = 'always';
  else if (on !== undefined && on !== 'false') {
    const c = compileMatcher(on);
    if (c.ok) retryOn = c.fn;
    else warn(route, 'retry-on', 'only connection failures are retried', c.error);
  }

  let breaker: RouteExpressions['breaker'];
  const condition = entry.circuitBreaker?.expression;
  if (condition !== undefined) {
    const c = compileBreaker(condition);
    if (c.ok) breaker = { condition: c.fn, readsLatency: callsIn(condition).has('LatencyAtQuantileMS') };
    else warn(route, 'the circuit-breaker expression', 'the route runs without a breaker', c.error);
  }

  let rateLimitKey: KeyFunction | undefined;
  const key = entry.rateLimit?.key;
  if (key !== undefined) {
    const c = compileKey(key);
    if (c.ok) rateLimitKey = c.fn;
    else {
      warn(route, 'the rate-limit key', `requests are limited by ${DEFAULT_RATE_LIMIT_KEY}`, c.error);
      const fallback = compileKey(DEFAULT_RATE_LIMIT_KEY);
      if (!fallback.ok) throw new Error(`the default rate-limit key ${DEFAULT_RATE_LIMIT_KEY} does not compile`);
      rateLimitKey = fallback.fn;
    }
  }
  return { rules, retryOn, breaker, rateLimitKey };
}
