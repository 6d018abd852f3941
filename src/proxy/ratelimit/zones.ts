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
import { HostmeshError } from '../../common/errors.ts';
import type { RateLimitPolicy, RouteEntry } from '../../table/index.ts';
import { bucketPolicy } from './bucket.ts';
import { LruBucketStore } from './local-store.ts';
import { createSharedZone, releaseLocks, SharedBucketStore } from './shared-store.ts';
import type { RateLimitStore } from './store.ts';

export type RateLimitStoreKind = 'lru' | 'shared';

/** What the rate-limit stage asks for when a route is built. */
export interface RateLimitZones {
  /** The store of `routeId` under `policy`: the existing one when neither changed. */
  zone(routeId: string, policy: RateLimitPolicy): RateLimitStore;
  /** Called once a table is committed: zones its routes no longer use are dropped. */
  retain(routes: readonly RouteEntry[]): void;
}

/** Identity of a zone: the route and everything in its policy. */
export function zoneKey(routeId: string, p: RateLimitPolicy): string {
  return `${routeId}\n${p.ratePerSecond}\n${p.burst}\n${p.zoneSize}\n${p.key}`;
}

/** Every rate-limit policy of http routes, the routes' own and their rules' (a rule's own policy is a zone of its own). */
function* zonePolicies(routes: readonly RouteEntry[]): Generator<[routeId: string, policy: RateLimitPolicy]> {
  for (const r of routes) {
    if (r.protocol !== 'http') continue;
    if (r.rateLimit !== undefined) yield [r.id, r.rateLimit];
    for (const rule of r.rules) if (rule.rateLimit !== undefined) yield [r.id, rule.rateLimit];
  }
}

function keysOf(routes: readonly RouteEntry[]): Set<string> {
  const keys = new Set<string>();
  for (const [id, policy] of zonePolicies(routes)) keys.add(zoneKey(id, policy));
  return keys;
}

function keep<V>(map: Map<string, V>, keys: Set<string>): void {
  for (const k of map.keys()) if (!keys.has(k)) map.delete(k);
}

/** Zones of one thread (the proxy without workers). */
export class LocalZones implements RateLimitZones {
  readonly kind: RateLimitStoreKind;
  readonly #stores = new Map<string, RateLimitStore>();

  constructor(kind: RateLimitStoreKind = 'lru') {
    this.kind = kind;
  }

  zone(routeId: string, policy: RateLimitPolicy): RateLimitStore {
    const key = zoneKey(routeId, policy);
    let store = this.#stores.get(key);
    if (store === undefined) {
      const bucket = bucketPolicy(policy);
      store = this.kind === 'lru' ? new LruBucketStore(bucket, policy.zoneSize) : new SharedBucketStore(createSharedZone(policy.zoneSize), bucket, 1);
      this.#stores.set(key, store);
    }
    return store;
  }

  retain(routes: readonly RouteEntry[]): void {
    keep(this.#stores, keysOf(routes));
  }
}

/** The shared buffers of the zones a table needs, as the supervisor sends them to workers. */
export type ZoneOffer = [key: string, buffer: SharedArrayBuffer][];

/** The supervisor's side: owns the buffers; workers only get views. */
export class ZoneBuffers {
  #buffers = new Map<string, SharedArrayBuffer>();

  /** The buffers `routes` need: the current ones where the zone is unchanged, else new ones. */
  plan(routes: readonly RouteEntry[]): ZoneOffer {
    const offer = new Map<string, SharedArrayBuffer>();
    for (const [id, policy] of zonePolicies(routes)) {
      const key = zoneKey(id, policy);
      if (!offer.has(key)) offer.set(key, this.#buffers.get(key) ?? createSharedZone(policy.zoneSize));
    }
    return [...offer];
  }

  /** The offer of the table every worker now serves becomes the current set. */
  commit(offer: ZoneOffer): void {
    this.#buffers = new Map(offer);
  }

  /** The current offer (for a worker that starts with the current table). */
  current(): ZoneOffer {
    return [...this.#buffers];
  }

  /** Frees the locks a dead worker held in any zone (those of a refused plan included). */
  releaseLocks(owner: number, extra: ZoneOffer = []): number {
    let n = 0;
    const seen = new Set<SharedArrayBuffer>();
    for (const [, sab] of [...this.#buffers, ...extra]) {
      if (seen.has(sab)) continue;
      seen.add(sab);
      n += releaseLocks(sab, owner);
    }
    return n;
  }
}

/** A worker's side: views over the buffers sent with the table being applied. */
export class OfferedZones implements RateLimitZones {
  readonly #owner: number;
  #offer = new Map<string, SharedArrayBuffer>();
  #views = new Map<string, { sab: SharedArrayBuffer; store: SharedBucketStore }>();

  constructor(owner: number) {
    this.#owner = owner;
  }

  /** The buffers of the next apply. */
  offer(offer: ZoneOffer): void {
    this.#offer = new Map(offer);
  }

  zone(routeId: string, policy: RateLimitPolicy): RateLimitStore {
    const key = zoneKey(routeId, policy);
    const sab = this.#offer.get(key);
    if (sab === undefined) throw new HostmeshError('RATE_LIMIT_ZONE_MISSING', `route ${routeId}: the supervisor sent no shared rate-limit zone for its policy`);
    const view = this.#views.get(key);
    if (view !== undefined && view.sab === sab) return view.store;
    const store = new SharedBucketStore(sab, bucketPolicy(policy), this.#owner);
    this.#views.set(key, { sab, store });
    return store;
  }

  retain(routes: readonly RouteEntry[]): void {
    keep(this.#views, keysOf(routes));
  }
}
