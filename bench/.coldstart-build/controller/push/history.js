/**
 * Publish times of recent versions, for lag: a proxy that applied version v has been behind
 * since version v+1 was published. Versions of one epoch are consecutive, so a ring indexed
 * by version holds them without a map; the oldest are forgotten past `capacity`.
 */
export class VersionHistory {
    #times;
    /** Oldest and newest remembered versions; `#newest < #oldest` while empty. */
    #oldest = 1;
    #newest = 0;
    constructor(capacity) {
        this.#times = new Float64Array(Math.max(1, Math.floor(capacity)));
    }
    /** Versions must be recorded in order, each one more than the last. */
    record(version, time) {
        if (this.#newest < this.#oldest)
            this.#oldest = version;
        this.#newest = version;
        this.#times[version % this.#times.length] = time;
        if (this.#newest - this.#oldest >= this.#times.length)
            this.#oldest = this.#newest - this.#times.length + 1;
    }
    at(version) {
        if (!Number.isInteger(version) || version < this.#oldest || version > this.#newest)
            return undefined;
        return this.#times[version % this.#times.length];
    }
    /** Time of the oldest remembered version after `version` (undefined when none is newer). */
    firstAfter(version) {
        if (version >= this.#newest)
            return undefined;
        return this.at(Math.max(this.#oldest, Math.floor(version) + 1));
    }
}
