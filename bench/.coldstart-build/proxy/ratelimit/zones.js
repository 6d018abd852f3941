/**
 * Rate-limit zones: one store per rate-limited route and policy, kept across table applies so
 * buckets survive unrelated changes. A route whose policy (rate, burst, key or zone size)
 * changes starts with fresh buckets; a route that goes away drops its zone.
 *
 *   LocalZones    one thread owns its zones: `lru` (a Map, exact LRU) or `shared` (the
 *                 SharedArrayBuffer table, for the same behaviour as with workers)
 *   ZoneBuffers   the worker supervisor: allocates the shared buffers a table needs
 *   OfferedZones  a worker: views over the buffers the supervisor sent with the table
 */
import { HostmeshError } from '../../common/errors.js';
import { bucketPolicy } from './bucket.js';
import { LruBucketStore } from './local-store.js';
import { createSharedZone, releaseLocks, SharedBucketStore } from './shared-store.js';
/** Identity of a zone: the route and everything in its policy. */
export function zoneKey(routeId, p) {
    return `${routeId}\n${p.ratePerSecond}\n${p.burst}\n${p.zoneSize}\n${p.key}`;
}
function keysOf(routes) {
    const keys = new Set();
    for (const r of routes)
        if (r.protocol === 'http' && r.rateLimit !== undefined)
            keys.add(zoneKey(r.id, r.rateLimit));
    return keys;
}
function keep(map, keys) {
    for (const k of map.keys())
        if (!keys.has(k))
            map.delete(k);
}
/** Zones of one thread (the proxy without workers). */
export class LocalZones {
    kind;
    #stores = new Map();
    constructor(kind = 'lru') {
        this.kind = kind;
    }
    zone(routeId, policy) {
        const key = zoneKey(routeId, policy);
        let store = this.#stores.get(key);
        if (store === undefined) {
            const bucket = bucketPolicy(policy);
            store = this.kind === 'lru' ? new LruBucketStore(bucket, policy.zoneSize) : new SharedBucketStore(createSharedZone(policy.zoneSize), bucket, 1);
            this.#stores.set(key, store);
        }
        return store;
    }
    retain(routes) {
        keep(this.#stores, keysOf(routes));
    }
}
/** The supervisor's side: owns the buffers; workers only get views. */
export class ZoneBuffers {
    #buffers = new Map();
    /** The buffers `routes` need: the current ones where the zone is unchanged, else new ones. */
    plan(routes) {
        const offer = [];
        for (const r of routes) {
            if (r.protocol !== 'http' || r.rateLimit === undefined)
                continue;
            const key = zoneKey(r.id, r.rateLimit);
            offer.push([key, this.#buffers.get(key) ?? createSharedZone(r.rateLimit.zoneSize)]);
        }
        return offer;
    }
    /** The offer of the table every worker now serves becomes the current set. */
    commit(offer) {
        this.#buffers = new Map(offer);
    }
    /** The current offer (for a worker that starts with the current table). */
    current() {
        return [...this.#buffers];
    }
    /** Frees the locks a dead worker held in any zone (those of a refused plan included). */
    releaseLocks(owner, extra = []) {
        let n = 0;
        const seen = new Set();
        for (const [, sab] of [...this.#buffers, ...extra]) {
            if (seen.has(sab))
                continue;
            seen.add(sab);
            n += releaseLocks(sab, owner);
        }
        return n;
    }
}
/** A worker's side: views over the buffers sent with the table being applied. */
export class OfferedZones {
    #owner;
    #offer = new Map();
    #views = new Map();
    constructor(owner) {
        this.#owner = owner;
    }
    /** The buffers of the next apply. */
    offer(offer) {
        this.#offer = new Map(offer);
    }
    zone(routeId, policy) {
        const key = zoneKey(routeId, policy);
        const sab = this.#offer.get(key);
        if (sab === undefined)
            throw new HostmeshError('RATE_LIMIT_ZONE_MISSING', `route ${routeId}: the supervisor sent no shared rate-limit zone for its policy`);
        const view = this.#views.get(key);
        if (view !== undefined && view.sab === sab)
            return view.store;
        const store = new SharedBucketStore(sab, bucketPolicy(policy), this.#owner);
        this.#views.set(key, { sab, store });
        return store;
    }
    retain(routes) {
        keep(this.#views, keysOf(routes));
    }
}
