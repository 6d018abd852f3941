/**
 * The circuit breaker (`circuit-breaker-expression`), with Traefik's states and timings:
 *
 * - closed: requests pass and their results fill the rolling window; at most every
 *   `checkPeriodMs`, when a request ends, the expression is evaluated over the window;
 * - open: the expression was true. For `fallbackMs` every request is answered 503 by the proxy,
 *   no backend is contacted, and the window starts afresh;
 * - recovering: for `recoveryMs` a growing share of requests passes (the share passed so far is
 *   kept at 0.5 * elapsed / recoveryMs, so the share of each moment's requests rises from none
 *   to all), the rest get the 503. The expression is still checked: true opens the breaker
 *   again; reaching the end of recovery closes it.
 *
 * One breaker per route and per proxy process (worker); a rebuilt route (its settings changed)
 * starts closed. Transitions by time happen when a request or a scrape looks, never by timer.
 */
import type { Breaker } from '../../../expr/index.ts';
import type { ProxyLimits } from '../../limits.ts';
import type { BreakerGauge } from '../../metrics.ts';
import type { Stage } from '../types.ts';
import { RollingWindow } from './window.ts';

export type BreakerLimits = Pick<ProxyLimits, 'breakerWindowMs' | 'breakerCheckPeriodMs' | 'breakerFallbackMs' | 'breakerRecoveryMs'>;

export type BreakerState = 'closed' | 'open' | 'recovering';

export interface CircuitBreakerOptions extends BreakerLimits {
  /** Milliseconds on a monotonic clock; performance.now by default (tests drive their own). */
  now?: () => number;
  /** Told of every state change (logging). */
  onChange?: (state: BreakerState) => void;
}

const CLOSED = 0;
const OPEN = 1;
const RECOVERING = 2;
const NAMES: readonly BreakerState[] = ['closed', 'open', 'recovering'];

export class CircuitBreaker implements BreakerGauge {
  readonly window: RollingWindow;
  readonly #condition: Breaker;
  readonly #opts: Required<Omit<CircuitBreakerOptions, 'onChange'>> & Pick<CircuitBreakerOptions, 'onChange'>;
  #state = CLOSED;
  /** When the current open or recovering phase ends. */
  #until = 0;
  #recoveringSince = 0;
  #allowed = 0;
  #denied = 0;
  #nextCheck = 0;

  constructor(condition: Breaker, opts: CircuitBreakerOptions, latency = true) {
    this.#condition = condition;
    this.#opts = { now: performance.now.bind(performance), ...opts };
    this.window = new RollingWindow(opts.breakerWindowMs, latency);
  }

  get state(): BreakerState {
    this.#advance(this.#opts.now());
    return NAMES[this.#state]!;
  }

  isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Whether a request may go to the backends now. The clock is read only when not closed. */
  allow(): boolean {
    if (this.#state === CLOSED) return true;
    const now = this.#opts.now();
    this.#advance(now);
    if (this.#state === CLOSED) return true;
    if (this.#state === OPEN) return false;
    // Recovering: let through just enough requests to keep the share passed at the target.
    const target = (0.5 * (now - this.#recoveringSince)) / this.#opts.breakerRecoveryMs;
    if ((this.#allowed + 1) / (this.#allowed + this.#denied + 1) < target) {
      this.#allowed++;
      return true;
    }
    this.#denied++;
    return false;
  }

  /** The result of a request this breaker let through. */
  record(status: number, ms: number, now: number): void {
    this.window.record(status, ms, now);
    if (now < this.#nextCheck) return;
    this.#nextCheck = now + this.#opts.breakerCheckPeriodMs;
    this.#advance(now);
    if (this.#state === OPEN) return;
    if (this.#condition(this.window.at(now))) this.#set(OPEN, now + this.#opts.breakerFallbackMs);
  }

  #advance(now: number): void {
    if (this.#state === OPEN && now >= this.#until) {
      // Phases follow the clock, not the traffic: recovery began when the fallback ended.
      this.#recoveringSince = this.#until;
      this.#allowed = 0;
      this.#denied = 0;
      this.#set(RECOVERING, this.#until + this.#opts.breakerRecoveryMs);
    }
    if (this.#state === RECOVERING && now >= this.#until) this.#set(CLOSED, 0);
  }

  #set(state: number, until: number): void {
    this.#state = state;
    this.#until = until;
    if (state === OPEN) this.window.reset();
    this.#opts.onChange?.(NAMES[state]!);
  }
}

/**
 * The stage: answers 503 while the breaker refuses, else lets the request through, marks it,
 * and records the outcome of marked exchanges when they complete.
 */
export const circuitBreaker: Stage = (ctx, next) => {
  const route = ctx.route;
  const policy = route.entry.circuitBreaker;
  const compiled = ctx.expressions.breaker;
  if (policy === undefined || compiled === undefined) return next;
  // Rules that inherit the route's breaker share it (one window, one state, one mark).
  const { breaker, passed } = ctx.share(policy, () => ({
    breaker: new CircuitBreaker(compiled.condition, {
      ...ctx.limits,
      onChange: (state) => {
        if (state === 'open') route.log.warn({ route: route.id, expression: policy.expression }, 'circuit breaker opened');
        else route.log.info({ route: route.id }, `circuit breaker ${state}`);
      },
    }, compiled.readsLatency),
    passed: ctx.mark(),
  }));
  // The gauge shows the route's breaker (built first), else the first rule's.
  ctx.plan.breaker ??= breaker;
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      if (!breaker.allow()) {
        ex.fail('circuit-open');
        return;
      }
      ex.marks |= passed;
      handle(ex);
    },
    complete: (ex, status, now) => {
      if ((ex.marks & passed) !== 0) breaker.record(status, now - ex.start, now);
      complete(ex, status, now);
    },
  };
};
