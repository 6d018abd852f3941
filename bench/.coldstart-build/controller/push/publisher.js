/**
 * Turns translated table content into numbered versions for the proxies.
 *
 * Cluster events come in bursts (a rollout touches many EndpointSlices), so `publish()` only
 * records the latest content: a trailing debounce publishes it once the burst is quiet for
 * `coalesceMs`, but never later than `maxDelayMs` after the first unpublished change, so a
 * steady trickle of events cannot starve the proxies. Content whose digest equals the current
 * table's makes no version (its diagnostics still replace the current ones).
 *
 * Each version after the first also carries its delta from the previous one (the resources
 * that changed, docs/distribution.md), found by comparing one hash per resource.
 */
import { randomUUID } from 'node:crypto';
import { ResourceTracker, TABLE_FORMAT } from '../../table/index.js';
import { HostmeshError } from '../../common/errors.js';
import { VersionHistory } from './history.js';
export const DEFAULT_COALESCE_MS = 50;
export const DEFAULT_MAX_DELAY_MS = 250;
export class Publisher {
    epoch;
    coalesceMs;
    maxDelayMs;
    #history;
    #listeners = new Set();
    #resources = new ResourceTracker();
    #current;
    #diagnostics = [];
    #pending;
    #quietTimer;
    #deadlineTimer;
    #closed = false;
    constructor(options = {}) {
        const coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
        const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
        if (!Number.isFinite(coalesceMs) || coalesceMs < 0)
            throw new HostmeshError('PUBLISHER_OPTIONS', `publisher: coalesceMs must be >= 0, got ${coalesceMs}`);
        if (!Number.isFinite(maxDelayMs) || maxDelayMs < coalesceMs) {
            throw new HostmeshError('PUBLISHER_OPTIONS', `publisher: maxDelayMs must be >= coalesceMs (${coalesceMs}), got ${maxDelayMs}`);
        }
        if (options.epoch !== undefined && options.epoch.length === 0)
            throw new HostmeshError('PUBLISHER_OPTIONS', 'publisher: epoch must not be empty');
        this.epoch = options.epoch ?? randomUUID();
        this.coalesceMs = coalesceMs;
        this.maxDelayMs = maxDelayMs;
        this.#history = new VersionHistory(options.historySize ?? 10_000);
    }
    /** The latest published version, or undefined before the first publish. */
    get current() {
        return this.#current;
    }
    /** Version of the current table (0 before the first publish). */
    get version() {
        return this.#current?.table.version ?? 0;
    }
    /** Diagnostics of the latest content that was flushed (published or not). */
    get diagnostics() {
        return this.#diagnostics;
    }
    /**
     * Publish time of the oldest remembered version newer than `version` in this epoch: when a
     * proxy that applied `version` started to be behind. Undefined when nothing newer exists.
     */
    behindSince(version) {
        return this.#history.firstAfter(version);
    }
    /** Publish time of one version of this epoch, if still remembered. */
    publishedAt(version) {
        return this.#history.at(version);
    }
    /**
     * Records the latest content; it is published after the burst settles (see the file comment).
     * The published table shares `content`'s arrays: do not mutate them afterwards.
     */
    publish(content, diagnostics = []) {
        if (this.#closed)
            return;
        this.#pending = { content, diagnostics };
        if (this.#deadlineTimer === undefined)
            this.#deadlineTimer = setTimeout(this.#onTimer, this.maxDelayMs);
        if (this.#quietTimer === undefined)
            this.#quietTimer = setTimeout(this.#onTimer, this.coalesceMs);
        else
            this.#quietTimer.refresh();
    }
    /** Publishes pending content now instead of waiting; returns the current publication. */
    flush() {
        this.#clearTimers();
        const pending = this.#pending;
        if (pending === undefined || this.#closed)
            return this.#current;
        this.#pending = undefined;
        this.#diagnostics = pending.diagnostics;
        const publishedAt = Date.now();
        const { dns, listeners, routes, clusters } = pending.content;
        const { changes, digest } = this.#resources.update(pending.content);
        const previous = this.#current;
        if (previous !== undefined && changes.length === 0)
            return previous;
        const table = {
            format: TABLE_FORMAT,
            epoch: this.epoch,
            version: this.version + 1,
            generatedAt: new Date(publishedAt).toISOString(),
            dns,
            listeners,
            routes,
            clusters,
            ...(pending.content.identities !== undefined ? { identities: pending.content.identities } : {}),
        };
        const publication = previous === undefined
            ? { table, digest, publishedAt }
            : {
                table,
                digest,
                publishedAt,
                delta: { format: TABLE_FORMAT, epoch: this.epoch, base: previous.table.version, version: table.version, generatedAt: table.generatedAt, digest, changes },
            };
        this.#current = publication;
        this.#history.record(table.version, publishedAt);
        for (const listener of this.#listeners)
            listener(publication);
        return publication;
    }
    /** Calls `listener` for every new version; returns the unsubscribe function. Listeners must not throw. */
    subscribe(listener) {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
    }
    /** Drops pending content and stops the timers; later publishes are ignored. */
    close() {
        this.#closed = true;
        this.#pending = undefined;
        this.#clearTimers();
        this.#listeners.clear();
    }
    #onTimer = () => {
        this.flush();
    };
    #clearTimers() {
        clearTimeout(this.#quietTimer);
        clearTimeout(this.#deadlineTimer);
        this.#quietTimer = undefined;
        this.#deadlineTimer = undefined;
    }
}
