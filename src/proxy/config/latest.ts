/**
 * Runs async work one item at a time where only the newest item matters: an item offered while
 * another runs replaces any item still waiting. Used for snapshots (apply only the newest) and
 * acks (report only the latest state, in order).
 */
export class LatestWorker<T> {
  readonly #work: (item: T) => Promise<void>;
  #waiting: { item: T } | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Items replaced before they ran. */
  superseded = 0;

  /** Shortest time from the start of one item to the start of the next, ms. */
  readonly #spacingMs: number;
  #lastStart = Number.NEGATIVE_INFINITY;
  #pause: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  /**
   * `work` must not reject; failures are its own to report. `spacingMs`: an item offered
   * sooner than that after the last one started waits for the rest of it (and may be replaced
   * meanwhile), so frequent offers run the work at most once per spacing.
   */
  constructor(work: (item: T) => Promise<void>, spacingMs = 0) {
    this.#work = work;
    this.#spacingMs = spacingMs;
  }

  offer(item: T): void {
    if (this.#stopped) return;
    if (this.#waiting !== undefined) this.superseded++;
    this.#waiting = { item };
    this.#running ??= this.#drain();
  }

  /** Nothing is running or waiting. */
  get isIdle(): boolean {
    return this.#running === undefined;
  }

  /** Resolves when nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Drops the waiting item and refuses new ones; the running one finishes (await idle()). */
  stop(): void {
    this.#stopped = true;
    this.#waiting = undefined;
    if (this.#pause) {
      clearTimeout(this.#pause.timer);
      this.#pause.resolve();
    }
  }

  async #drain(): Promise<void> {
    try {
      // Checking for the next item and clearing #running happen without an await between
      // them, so an item offered at any point is either picked up here or starts a new drain.
      while (this.#waiting !== undefined) {
        const wait = this.#lastStart + this.#spacingMs - performance.now();
        if (wait > 0) {
          await new Promise<void>((resolve) => { this.#pause = { timer: setTimeout(resolve, wait), resolve }; });
          this.#pause = undefined;
          // stop() during the pause dropped the item.
          if (this.#waiting === undefined) break;
        }
        const { item } = this.#waiting;
        this.#waiting = undefined;
        this.#lastStart = performance.now();
        await this.#work(item);
      }
    } finally {
      this.#running = undefined;
    }
  }
}
