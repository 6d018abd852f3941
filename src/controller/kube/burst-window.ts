/**
 * A gathering window that widens while a burst lasts. The first trigger after a quiet spell
 * fires after `minMs`, as a fixed window would: a lone change is not held back. A trigger that
 * comes while the previous window's follow-up is still due (within the last window's length of
 * its firing) is part of a burst, and its window is twice the last one, up to `maxMs`. So
 * thousands of changes spread over a minute (shadow Services reporting their ClusterIPs while
 * a controller starts on a large cluster, a namespace of 1,000 Services created at once) make
 * a few dozen firings, not one per `minMs`, and each change waits at most `maxMs`.
 */

export interface BurstWindowOptions {
  /** The window of a lone trigger, ms. */
  minMs: number;
  /** The widest window, ms. */
  maxMs: number;
}

export class BurstWindow {
  readonly #fire: () => void;
  readonly #minMs: number;
  readonly #maxMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** The length of the last window and when it fired (performance.now()). */
  #last = { ms: 0, firedAt: -Infinity };
  #firings = 0;

  constructor(fire: () => void, options: BurstWindowOptions) {
    if (!(options.minMs >= 0) || !(options.maxMs >= options.minMs)) {
      throw new RangeError(`burst window: need 0 <= minMs <= maxMs, got ${options.minMs} and ${options.maxMs}`);
    }
    this.#fire = fire;
    this.#minMs = options.minMs;
    this.#maxMs = options.maxMs;
  }

  /** Firings so far. */
  get firings(): number {
    return this.#firings;
  }

  /** The window a trigger now would open (for tests and logs). */
  nextWindowMs(now = performance.now()): number {
    const { ms, firedAt } = this.#last;
    const inBurst = now - firedAt <= Math.max(ms, this.#minMs);
    return inBurst ? Math.min(this.#maxMs, Math.max(this.#minMs, ms * 2)) : this.#minMs;
  }

  trigger(): void {
    if (this.#timer !== undefined) return;
    const ms = this.nextWindowMs();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#last = { ms, firedAt: performance.now() };
      this.#firings++;
      this.#fire();
    }, ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
