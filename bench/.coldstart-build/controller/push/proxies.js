export class ProxyTracker {
    #records = new Map();
    #clock;
    #forgetAfterMs;
    #maxProxies;
    #now;
    constructor(clock, options) {
        this.#clock = clock;
        this.#forgetAfterMs = options.forgetAfterMs;
        this.#maxProxies = Math.max(1, options.maxProxies);
        this.#now = options.now ?? Date.now;
    }
    opened(node) {
        const r = this.#record(node);
        r.streams++;
        r.lastSeen = this.#now();
    }
    closed(node) {
        const r = this.#records.get(node);
        if (!r)
            return;
        r.streams = Math.max(0, r.streams - 1);
        r.lastSeen = this.#now();
    }
    acked(ack) {
        const r = this.#record(ack.node);
        const now = this.#now();
        r.lastSeen = now;
        if (!ack.applied) {
            r.error = `refused ${ack.epoch}:${ack.version}: ${ack.error ?? 'no reason given'}`;
            return { refused: true };
        }
        const isNew = r.appliedEpoch !== ack.epoch || r.appliedVersion !== ack.version;
        r.appliedEpoch = ack.epoch;
        r.appliedVersion = ack.version;
        delete r.error;
        if (!isNew || ack.epoch !== this.#clock.epoch)
            return { refused: false };
        const publishedAt = this.#clock.publishedAt(ack.version);
        return publishedAt === undefined ? { refused: false } : { refused: false, lagSeconds: Math.max(0, now - publishedAt) / 1000 };
    }
    counts() {
        this.#forget();
        let connected = 0;
        for (const r of this.#records.values())
            if (r.streams > 0)
                connected++;
        return { connected, disconnected: this.#records.size - connected };
    }
    list() {
        this.#forget();
        const now = this.#now();
        const current = this.#clock.version;
        const out = [];
        for (const r of this.#records.values()) {
            const connected = r.streams > 0;
            const status = { node: r.node, connected, lagMs: 0, lastSeen: new Date(connected ? now : r.lastSeen).toISOString() };
            // A table of another epoch counts as version 0 of this one: every version here is newer.
            const appliedHere = r.appliedEpoch === this.#clock.epoch ? r.appliedVersion ?? 0 : 0;
            if (r.appliedEpoch !== undefined) {
                status.appliedEpoch = r.appliedEpoch;
                status.appliedVersion = r.appliedVersion;
                status.lagVersions = Math.max(0, current - appliedHere);
            }
            const since = this.#clock.behindSince(appliedHere);
            // A proxy cannot have been behind for longer than the controller has known it.
            if (since !== undefined)
                status.lagMs = Math.max(0, now - Math.max(since, r.firstSeen));
            if (r.error !== undefined)
                status.error = r.error;
            out.push(status);
        }
        return out.toSorted((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    }
    #record(node) {
        let r = this.#records.get(node);
        if (r)
            return r;
        if (this.#records.size >= this.#maxProxies)
            this.#evict();
        const now = this.#now();
        r = { node, streams: 0, firstSeen: now, lastSeen: now };
        this.#records.set(node, r);
        return r;
    }
    #forget() {
        const cutoff = this.#now() - this.#forgetAfterMs;
        for (const [node, r] of this.#records)
            if (r.streams === 0 && r.lastSeen < cutoff)
                this.#records.delete(node);
    }
    #evict() {
        this.#forget();
        let oldest;
        for (const r of this.#records.values())
            if (r.streams === 0 && (!oldest || r.lastSeen < oldest.lastSeen))
                oldest = r;
        if (oldest)
            this.#records.delete(oldest.node);
    }
}
