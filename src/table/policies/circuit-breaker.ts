/** The circuit breaker (`RouteEntry.circuitBreaker`). */
import type { RoutePolicy } from './policy.ts';

export interface CircuitBreakerPolicy {
  /** Breaker expression source, e.g. `NetworkErrorRatio() > 0.30`. */
  expression: string;
}

export const CIRCUIT_BREAKER: RoutePolicy<'circuitBreaker'> = {
  field: 'circuitBreaker',
  httpOnly: true,
  validate: (v, { c, path }) => {
    const cb = c.object(v, path);
    if (cb) c.string(cb.expression, `${path}.expression`, { nonEmpty: true });
  },
};
