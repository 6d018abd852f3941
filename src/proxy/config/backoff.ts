/**
 * Reconnect delays: exponential with "equal jitter" (half fixed, half random), so a fleet of
 * proxies that lost the controller at the same moment does not come back in lock step, and no
 * delay is ever shorter than half the nominal one (a dead controller is never hammered).
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly #factor: number;
  readonly #random: () => number;
  #nominal: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = Math.max(1, options.initialMs ?? 100);
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 10_000);
    this.#factor = Math.max(1, options.factor ?? 2);
    this.#random = options.random ?? Math.random;
    this.#nominal = this.initialMs;
  }

  /** The next delay in ms, in [nominal/2, nominal]; the nominal delay then grows. */
  next(): number {
    const d = this.#nominal;
    this.#nominal = Math.min(this.maxMs, d * this.#factor);
    const r = Math.min(1, Math.max(0, this.#random()));
    return Math.round(d / 2 + (r * d) / 2);
  }

  reset(): void {
    this.#nominal = this.initialMs;
  }
}
