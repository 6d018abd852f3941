/**
 * The controller's work loops: each runs one job (translate, write shadows, patch DNS, send
 * Events) serially. Triggers that arrive together make one run (after `coalesceMs`); triggers
 * during a run make exactly one more run after it. A run that failed is retried after a
 * jittered exponential backoff, and triggers do not cut that backoff short, so a broken API
 * server is not hammered by every cluster change. A run that asks to go again (it re-read an
 * object after a conflict) does so at once, a few times, then backs off: writes never loop.
 */
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { LeadingBudget } from '../push/leading-budget.ts';

/** `done`; `again`: plan again now (state was re-read); `retry`: failed, run again after a backoff. */
export type RunOutcome = 'done' | 'again' | 'retry';

export interface Backoff {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };
/** Runs in a row a `leading` loop starts at once (see SerialLoopOptions.leading). */
export const LEADING_BURST = 3;

/** Delay before retry number `failures + 1`: doubling from minMs to maxMs, 50-100 % of the step. */
export function backoffDelay(backoff: Backoff, failures: number): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(failures, 30));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export interface SerialLoopOptions {
  name: string;
  coalesceMs: number;
  backoff: Backoff;
  log: Logger;
  /** Immediate re-runs allowed in a row before `again` backs off like a failure. Default 3. */
  maxAgain?: number;
  /**
   * For CPU-bound jobs: after a run that took d ms, the next starts no sooner than d ms after
   * it ended, so a loop triggered without pause takes at most half the process's time and the
   * I/O it shares the thread with (API writes, the proxies' API) keeps going.
   */
  paced?: boolean;
  /**
   * A trigger runs on the next turn of the event loop instead of after the window (once the
   * last run is as long ago as it took), up to LEADING_BURST runs in a row, one more every
   * `coalesceMs` (push/leading-budget.ts): a lone change, or the two events of a pod readiness
   * flip, do not wait for a burst that is not coming; a longer burst is gathered in windows.
   */
  leading?: boolean;
}

export class SerialLoop {
  readonly #run: () => Promise<RunOutcome>;
  readonly #options: SerialLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #failures = 0;
  #again = 0;
  #stopped = false;
  #runs = 0;
  /** When the last run ended and how long it took (for `paced`). */
  #lastEnd = 0;
  #lastDuration = 0;
  readonly #leading: LeadingBudget | undefined;

  constructor(run: () => Promise<RunOutcome>, options: SerialLoopOptions) {
    this.#run = run;
    this.#options = options;
    this.#leading = options.leading ? new LeadingBudget(LEADING_BURST, options.coalesceMs) : undefined;
  }

  /** Runs completed (successful or not): lets tests count translations. */
  get runs(): number {
    return this.#runs;
  }

  /** Asks for a run: after the coalescing window, after the current run, or after the backoff. */
  trigger(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (this.#running || this.#timer) return;
    this.#schedule(this.#quietMs());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** While a timer (coalescing window or backoff) is pending, triggers only mark the loop dirty. */
  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#once().finally(() => {
        this.#running = undefined;
        // Triggers that came during the run (up to this very moment) get one more run.
        if (this.#dirty && !this.#timer && !this.#stopped) this.#schedule(this.#quietMs());
      });
    }, ms);
  }

  /** The coalescing window, stretched for a paced loop that ran a moment ago. */
  #quietMs(): number {
    const now = performance.now();
    const rest = this.#options.paced ? this.#lastEnd + this.#lastDuration - now : 0;
    if (this.#leading?.take(now)) return Math.max(0, rest);
    return Math.max(this.#options.coalesceMs, rest);
  }

  async #once(): Promise<void> {
    if (this.#stopped) return;
    this.#dirty = false;
    let outcome: RunOutcome;
    const started = performance.now();
    try {
      outcome = await this.#run();
    } catch (e) {
      this.#options.log.error({ loop: this.#options.name, err: errorMessage(e) }, 'run failed unexpectedly; retrying');
      outcome = 'retry';
    }
    this.#lastEnd = performance.now();
    this.#lastDuration = this.#lastEnd - started;
    this.#runs++;
    if (this.#stopped) return;
    if (outcome === 'again' && this.#again < (this.#options.maxAgain ?? 3)) {
      this.#again++;
      this.#schedule(0);
      return;
    }
    if (outcome !== 'done') {
      const delay = backoffDelay(this.#options.backoff, this.#failures++);
      this.#options.log.debug({ loop: this.#options.name, retryInMs: delay, outcome }, 'retrying after a backoff');
      this.#schedule(delay);
      return;
    }
    this.#failures = 0;
    this.#again = 0;
  }
}

/** Calls `fn` for every item, at most `limit` at a time; resolves when all have settled. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
