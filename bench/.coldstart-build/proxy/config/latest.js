/**
 * Runs async work one item at a time where only the newest item matters: an item offered while
 * another runs replaces any item still waiting. Used for snapshots (apply only the newest) and
 * acks (report only the latest state, in order).
 */
export class LatestWorker {
    #work;
    #waiting;
    #running;
    #stopped = false;
    /** Items replaced before they ran. */
    superseded = 0;
    /** `work` must not reject; failures are its own to report. */
    constructor(work) {
        this.#work = work;
    }
    offer(item) {
        if (this.#stopped)
            return;
        if (this.#waiting !== undefined)
            this.superseded++;
        this.#waiting = { item };
        this.#running ??= this.#drain();
    }
    /** Resolves when nothing is running or waiting. */
    async idle() {
        while (this.#running !== undefined)
            await this.#running;
    }
    /** Drops the waiting item and refuses new ones; the running one finishes (await idle()). */
    stop() {
        this.#stopped = true;
        this.#waiting = undefined;
    }
    async #drain() {
        try {
            // Checking for the next item and clearing #running happen without an await between
            // them, so an item offered at any point is either picked up here or starts a new drain.
            while (this.#waiting !== undefined) {
                const { item } = this.#waiting;
                this.#waiting = undefined;
                await this.#work(item);
            }
        }
        finally {
            this.#running = undefined;
        }
    }
}
