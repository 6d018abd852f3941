export class WatchStream {
    node;
    #res;
    #hooks;
    #congested = false;
    /** A version was published while congested: catch up on drain. */
    #behind = false;
    /** The last version written to this stream (in the publisher's epoch). */
    version;
    /** Versions written (as a snapshot or a delta), and versions folded into a later catch-up. */
    sent = 0;
    skipped = 0;
    snapshots = 0;
    bytes = 0;
    constructor(node, res, hooks) {
        this.node = node;
        this.#res = res;
        this.#hooks = hooks;
    }
    /** Bytes accepted by the response but not yet handed to the kernel. */
    get bufferedBytes() {
        return this.#res.writableLength;
    }
    get congested() {
        return this.#congested;
    }
    /** A new version was published: its delta goes out if this stream is at its base. */
    publish(base, line) {
        if (this.#res.destroyed)
            return;
        if (this.#congested) {
            this.skipped++;
            this.#hooks.onSkip();
            this.#behind = true;
            return;
        }
        if (line !== undefined && base !== undefined && this.version === base) {
            this.version = base + 1;
            this.sent++;
            this.#write(line, 'delta');
            return;
        }
        this.catchUp();
    }
    /** Brings the stream to the current version (the deltas since its version, or a snapshot). */
    catchUp() {
        if (this.#res.destroyed)
            return;
        const step = this.#hooks.catchUp(this.version);
        if (step === undefined)
            return;
        this.version = step.version;
        this.sent++;
        if (step.snapshot)
            this.snapshots++;
        for (const line of step.lines)
            this.#write(line, step.snapshot ? 'snapshot' : 'delta');
    }
    /** Heartbeats only prove liveness; a congested stream is already busy, so they are dropped. */
    heartbeat(line) {
        if (!this.#congested && !this.#res.destroyed)
            this.#res.write(line);
    }
    end() {
        this.#res.end();
    }
    #write(line, kind) {
        this.bytes += line.length;
        this.#hooks.onSent(kind, line.length);
        if (!this.#res.write(line) && !this.#congested) {
            this.#congested = true;
            this.#res.once('drain', this.#onDrain);
        }
    }
    #onDrain = () => {
        this.#congested = false;
        if (!this.#behind)
            return;
        this.#behind = false;
        this.catchUp();
    };
}
