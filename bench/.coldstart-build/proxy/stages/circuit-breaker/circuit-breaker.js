import { RollingWindow } from './window.js';
const CLOSED = 0;
const OPEN = 1;
const RECOVERING = 2;
const NAMES = ['closed', 'open', 'recovering'];
export class CircuitBreaker {
    window;
    #condition;
    #opts;
    #state = CLOSED;
    /** When the current open or recovering phase ends. */
    #until = 0;
    #recoveringSince = 0;
    #allowed = 0;
    #denied = 0;
    #nextCheck = 0;
    constructor(condition, opts, latency = true) {
        this.#condition = condition;
        this.#opts = { now: performance.now.bind(performance), ...opts };
        this.window = new RollingWindow(opts.breakerWindowMs, latency);
    }
    get state() {
        this.#advance(this.#opts.now());
        return NAMES[this.#state];
    }
    isOpen() {
        return this.state !== 'closed';
    }
    /** Whether a request may go to the backends now. The clock is read only when not closed. */
    allow() {
        if (this.#state === CLOSED)
            return true;
        const now = this.#opts.now();
        this.#advance(now);
        if (this.#state === CLOSED)
            return true;
        if (this.#state === OPEN)
            return false;
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
    record(status, ms, now) {
        this.window.record(status, ms, now);
        if (now < this.#nextCheck)
            return;
        this.#nextCheck = now + this.#opts.breakerCheckPeriodMs;
        this.#advance(now);
        if (this.#state === OPEN)
            return;
        if (this.#condition(this.window.at(now)))
            this.#set(OPEN, now + this.#opts.breakerFallbackMs);
    }
    #advance(now) {
        if (this.#state === OPEN && now >= this.#until) {
            // Phases follow the clock, not the traffic: recovery began when the fallback ended.
            this.#recoveringSince = this.#until;
            this.#allowed = 0;
            this.#denied = 0;
            this.#set(RECOVERING, this.#until + this.#opts.breakerRecoveryMs);
        }
        if (this.#state === RECOVERING && now >= this.#until)
            this.#set(CLOSED, 0);
    }
    #set(state, until) {
        this.#state = state;
        this.#until = until;
        if (state === OPEN)
            this.window.reset();
        this.#opts.onChange?.(NAMES[state]);
    }
}
/**
 * The stage: answers 503 while the breaker refuses, else lets the request through, marks it,
 * and records the outcome of marked exchanges when they complete.
 */
export const circuitBreaker = (ctx, next) => {
    const route = ctx.route;
    const policy = route.entry.circuitBreaker;
    const compiled = ctx.expressions.breaker;
    if (policy === undefined || compiled === undefined)
        return next;
    const breaker = new CircuitBreaker(compiled.condition, {
        ...ctx.limits,
        onChange: (state) => {
            if (state === 'open')
                route.log.warn({ route: route.id, expression: policy.expression }, 'circuit breaker opened');
            else
                route.log.info({ route: route.id }, `circuit breaker ${state}`);
        },
    }, compiled.readsLatency);
    ctx.plan.breaker = breaker;
    const passed = ctx.mark();
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
            if ((ex.marks & passed) !== 0)
                breaker.record(status, now - ex.start, now);
            complete(ex, status, now);
        },
    };
};
