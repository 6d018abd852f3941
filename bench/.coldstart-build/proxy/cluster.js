import { EndpointPool } from './endpoints/pool.js';
export class ClusterRuntime {
    id;
    pool;
    #entry;
    #closeLink;
    #createLink;
    constructor(entry, opts) {
        this.id = entry.id;
        this.#entry = entry;
        this.#closeLink = opts.closeLink;
        this.#createLink = opts.createLink;
        this.pool = new EndpointPool(entry, {
            affinitySecret: opts.affinitySecret,
            now: opts.now,
            onRemoved: (ep) => this.#dropLink(ep),
        });
    }
    get entry() {
        return this.#entry;
    }
    get picker() {
        return this.pool;
    }
    get dialTimeoutMs() {
        return this.#entry.dialTimeoutMs;
    }
    /** The cluster's read timeout; none when unset or 0 (HTTP applies its default to unset: http/timeouts.ts). */
    get readTimeoutMs() {
        return this.#entry.readTimeoutMs || undefined;
    }
    get writeTimeoutMs() {
        return this.#entry.writeTimeoutMs || undefined;
    }
    /** The endpoint's connection pool, created on first use. */
    link(ep) {
        return ep.link ??= this.#createLink(this.#entry, ep);
    }
    /** Computes the change to a new version of this cluster; nothing is visible before commit. */
    plan(entry) {
        const poolUpdate = this.pool.plan(entry);
        const prev = this.#entry;
        // Pools dial with the scheme and dial timeout baked in: new settings need new pools.
        const relink = prev.scheme !== entry.scheme || prev.dialTimeoutMs !== entry.dialTimeoutMs;
        return {
            commit: () => {
                this.#entry = entry;
                poolUpdate.commit();
                if (relink)
                    for (const ep of this.pool.endpoints)
                        this.#dropLink(ep);
            },
        };
    }
    /** The cluster left the table: every endpoint's connections close after their requests. */
    close() {
        this.pool.clear();
    }
    #dropLink(ep) {
        const link = ep.link;
        ep.link = undefined;
        if (link !== undefined)
            this.#closeLink(link);
    }
}
