/**
 * Incremental distribution (docs/distribution.md): a delta names the version it applies to
 * (`base`) and the resources (src/table/resources.ts) it sets or removes. `applyTableDelta`
 * checks an untrusted delta against the table a proxy serves and returns the next table, which
 * shares every unchanged entry object with the previous one; only the changed resources are
 * validated, plus the references into what was removed or changed protocol.
 */
import { clusterBackends } from './rules.ts';
import { TABLE_FORMAT } from './types.ts';
import type { ClusterEntry, DnsServiceEntry, IdentityEntry, ListenerEntry, RouteEntry, RoutingTable } from './types.ts';
import { DNS_KEY, DigestSum, clusterSettings, dnsServiceKey, dnsSettings, listenerKey, RESOURCE_KINDS, resourceHash } from './resources.ts';
import type { ResourceChange, ResourceKind, TableResources } from './resources.ts';
import { checkIdentity } from './rule-check.ts';
import { Checker, PORT_ID, checkClusterSettings, checkDnsService, checkDnsSettings, checkEndpoints, checkListenerBody, checkRouteBody, describe } from './validate.ts';
import type { Obj, TableProblem } from './validate.ts';

/** Error code of a delta that does not follow the table served: the proxy needs a snapshot. */
export const DELTA_GAP = 'DELTA_GAP';

export interface TableDelta {
  format: typeof TABLE_FORMAT;
  epoch: string;
  /** The version this delta applies to: only a proxy serving exactly `epoch:base` may apply it. */
  base: number;
  /** The version the proxy serves after applying it (more than `base`). */
  version: number;
  generatedAt: string;
  /** tableDigest() of the table after the delta; a proxy that computes another asks for a snapshot. */
  digest: string;
  changes: ResourceChange[];
}

/** What a delta touched, so the proxy rebuilds only that. */
export interface DeltaTouched {
  clusters: Set<string>;
  routes: Set<string>;
  listeners: Set<number>;
  dns: boolean;
  /** The identity map changed (entries set or removed). */
  identities: boolean;
}

export type DeltaResult =
  | { ok: true; table: RoutingTable; digest: string; touched: DeltaTouched }
  /**
   * `gap`: the delta does not follow the table served (another epoch, a skipped version) or
   * leads elsewhere than the controller's table (digest mismatch): the proxy needs a snapshot.
   */
  | { ok: false; gap: boolean; problems: TableProblem[] };

interface Index {
  dnsServices: Map<string, DnsServiceEntry>;
  listeners: Map<string, ListenerEntry>;
  routes: Map<string, RouteEntry>;
  clusters: Map<string, ClusterEntry>;
  identities: Map<string, IdentityEntry>;
}

/** Lookup maps of a table, kept per table object so consecutive deltas do not rebuild them. */
const indexes = new WeakMap<RoutingTable, Index>();

function indexOf(table: RoutingTable): Index {
  let index = indexes.get(table);
  if (index === undefined) {
    index = {
      dnsServices: new Map(table.dns.services.map((s) => [dnsServiceKey(s), s])),
      listeners: new Map(table.listeners.map((l) => [listenerKey(l), l])),
      routes: new Map(table.routes.map((r) => [r.id, r])),
      clusters: new Map(table.clusters.map((c) => [c.id, c])),
      identities: new Map((table.identities ?? []).map((e) => [e.address, e])),
    };
    indexes.set(table, index);
  }
  return index;
}

const HEX32 = /^[0-9a-f]{32}$/;

/** Applies an untrusted delta to `base` (whose digest is `baseDigest`); `base` is not modified. */
export function applyTableDelta(base: RoutingTable, baseDigest: string, input: unknown): DeltaResult {
  const c = new Checker();
  const d = c.object(input, '$');
  if (!d) return { ok: false, gap: false, problems: c.problems };
  if (d.format !== TABLE_FORMAT) c.fail('$.format', `must be ${TABLE_FORMAT}, got ${describe(d.format)}`);
  c.string(d.epoch, '$.epoch', { nonEmpty: true });
  c.integer(d.base, '$.base', 0, Number.MAX_SAFE_INTEGER);
  if (c.integer(d.version, '$.version', 1, Number.MAX_SAFE_INTEGER) && typeof d.base === 'number' && d.version <= d.base) {
    c.fail('$.version', `must be more than base ${d.base}, got ${d.version}`);
  }
  c.string(d.generatedAt, '$.generatedAt');
  if (c.string(d.digest, '$.digest') && !HEX32.test(d.digest)) c.fail('$.digest', `must be 32 hex digits, got ${describe(d.digest)}`);
  const changes = c.array(d.changes, '$.changes');
  if (c.problems.length > 0) return { ok: false, gap: false, problems: c.problems };
  if (d.epoch !== base.epoch || d.base !== base.version) {
    return { ok: false, gap: true, problems: [{ path: '$.base', message: `delta ${String(d.epoch)}:${String(d.base)}->${String(d.version)} does not follow the table served, ${base.epoch}:${base.version}` }] };
  }

  const index = indexOf(base);
  // Changed resources by key; null means removed.
  const dnsServices = new Map<string, DnsServiceEntry | null>();
  const listeners = new Map<string, ListenerEntry | null>();
  const routes = new Map<string, RouteEntry | null>();
  const settings = new Map<string, Obj | null>();
  const endpoints = new Map<string, unknown[]>();
  const identities = new Map<string, IdentityEntry | null>();
  let dns: Obj | undefined;

  changes.forEach((v, i) => {
    const p = `$.changes[${i}]`;
    const ch = c.object(v, p);
    if (!ch) return;
    if (!c.oneOf(ch.kind, `${p}.kind`, RESOURCE_KINDS) || !c.string(ch.key, `${p}.key`, { nonEmpty: true })) return;
    const kind: ResourceKind = ch.kind;
    const key = ch.key;
    // Problems name the resource: `$.changes[3](endpoints test/web:80).value[0].address`.
    const at = `${p}(${kind} ${key.length > 100 ? `${key.slice(0, 100)}...` : key})`;
    const removed = ch.value === undefined;
    const value = removed || kind === 'endpoints' ? undefined : c.object(ch.value, `${at}.value`);
    if (!removed && value === undefined && kind !== 'endpoints') return;
    const twice = (seen: Map<string, unknown>): boolean => {
      if (!seen.has(key)) return false;
      c.fail(`${at}.key`, `${kind} ${key} is changed twice in one delta`);
      return true;
    };
    switch (kind) {
      case 'dns':
        if (key !== DNS_KEY) c.fail(`${at}.key`, `must be ${JSON.stringify(DNS_KEY)}, got ${describe(key)}`);
        else if (value === undefined) c.fail(`${at}.value`, 'the dns settings cannot be removed');
        else {
          checkDnsSettings(c, value, `${at}.value`);
          dns = value;
        }
        return;
      case 'dnsService':
        if (twice(dnsServices)) return;
        if (value !== undefined) {
          checkDnsService(c, value, `${at}.value`);
          if (typeof value.namespace === 'string' && typeof value.name === 'string' && dnsServiceKey(value as { namespace: string; name: string }) !== key) {
            c.fail(`${at}.key`, `must be the entry's namespace/name, got ${describe(key)}`);
          }
        } else if (!index.dnsServices.has(key)) c.fail(`${at}.key`, `removes unknown dns name ${key}`);
        dnsServices.set(key, (value ?? null) as DnsServiceEntry | null);
        return;
      case 'listener':
        if (twice(listeners)) return;
        if (value !== undefined) {
          if (c.integer(value.port, `${at}.value.port`, 1, 65535) && String(value.port) !== key) c.fail(`${at}.key`, `must be the listener's port, got ${describe(key)}`);
        } else if (!index.listeners.has(key)) c.fail(`${at}.key`, `removes unknown listener ${key}`);
        listeners.set(key, (value ?? null) as ListenerEntry | null);
        return;
      case 'route':
        if (twice(routes)) return;
        if (!PORT_ID.test(key)) c.fail(`${at}.key`, `must look like namespace/name:port, got ${describe(key)}`);
        if (value !== undefined) {
          if (value.id !== key) c.fail(`${at}.value.id`, `must equal the key ${key}, got ${describe(value.id)}`);
        } else if (!index.routes.has(key)) c.fail(`${at}.key`, `removes unknown route ${key}`);
        routes.set(key, (value ?? null) as RouteEntry | null);
        return;
      case 'cluster':
        if (twice(settings)) return;
        if (!PORT_ID.test(key)) c.fail(`${at}.key`, `must look like namespace/name:port, got ${describe(key)}`);
        if (value !== undefined) {
          if (value.id !== key) c.fail(`${at}.value.id`, `must equal the key ${key}, got ${describe(value.id)}`);
          if (value.endpoints !== undefined) c.fail(`${at}.value.endpoints`, 'endpoints travel as their own resource');
          checkClusterSettings(c, value, `${at}.value`);
        } else if (!index.clusters.has(key)) c.fail(`${at}.key`, `removes unknown cluster ${key}`);
        settings.set(key, value ?? null);
        return;
      case 'endpoints':
        if (twice(endpoints)) return;
        if (removed) {
          c.fail(`${at}.value`, 'endpoints are removed with their cluster, not alone');
          return;
        }
        checkEndpoints(c, ch.value, `${at}.value`);
        endpoints.set(key, ch.value as unknown[]);
        return;
      case 'identity':
        if (twice(identities)) return;
        if (value !== undefined) {
          checkIdentity(c, value, `${at}.value`);
          if (typeof value.address === 'string' && value.address !== key) c.fail(`${at}.key`, `must be the entry's address, got ${describe(key)}`);
        } else if (!index.identities.has(key)) c.fail(`${at}.key`, `removes unknown identity ${key}`);
        identities.set(key, (value ?? null) as IdentityEntry | null);
        return;
    }
  });
  if (c.problems.length > 0) return { ok: false, gap: false, problems: c.problems };

  // The next clusters: new settings with their endpoints (new or kept).
  const nextClusters = new Map<string, ClusterEntry | null>();
  for (const [id, s] of settings) {
    if (s === null) {
      if (endpoints.has(id)) c.fail('$.changes', `cluster ${id} is removed and given endpoints in one delta`);
      nextClusters.set(id, null);
      continue;
    }
    const eps = endpoints.get(id) ?? index.clusters.get(id)?.endpoints;
    if (eps === undefined) c.fail('$.changes', `new cluster ${id} comes without its endpoints`);
    else nextClusters.set(id, { ...(s as unknown as ClusterEntry), endpoints: eps as ClusterEntry['endpoints'] });
  }
  for (const [id, eps] of endpoints) {
    if (settings.has(id)) continue;
    const old = index.clusters.get(id);
    if (old === undefined) c.fail('$.changes', `endpoints of unknown cluster ${id}`);
    else nextClusters.set(id, { ...old, endpoints: eps as ClusterEntry['endpoints'] });
  }

  const clusterProtocol = (id: string): string | undefined => {
    const next = nextClusters.get(id);
    return next === null ? undefined : (next ?? index.clusters.get(id))?.protocol;
  };
  const routeProtocol = (id: string): string | undefined => {
    const next = routes.get(id);
    return next === null ? undefined : (next ?? index.routes.get(id))?.protocol;
  };
  for (const [id, r] of routes) if (r !== null) checkRouteBody(c, r as unknown as Obj, `$.routes[${JSON.stringify(id)}]`, clusterProtocol);
  for (const [port, l] of listeners) if (l !== null) checkListenerBody(c, l as unknown as Obj, `$.listeners[${port}]`, routeProtocol);

  // Unchanged entries that refer to a removed cluster or route, or one whose protocol changed.
  const gone = (next: Map<string, { protocol: string } | null>, old: Map<string, { protocol: string }>): Set<string> =>
    new Set([...next].filter(([id, e]) => old.has(id) && (e === null || e.protocol !== old.get(id)!.protocol)).map(([id]) => id));
  const goneClusters = gone(nextClusters, index.clusters);
  if (goneClusters.size > 0) {
    for (const r of index.routes.values()) {
      if (routes.has(r.id)) continue;
      for (const id of referencedClusters(r)) if (goneClusters.has(id)) c.fail(`$.routes[${JSON.stringify(r.id)}]`, `still names cluster ${id}, which this delta removes or changes to ${clusterProtocol(id) ?? 'nothing'}`);
    }
  }
  const goneRoutes = gone(routes, index.routes);
  if (goneRoutes.size > 0) {
    for (const l of index.listeners.values()) {
      if (!listeners.has(listenerKey(l)) && goneRoutes.has(l.route)) c.fail(`$.listeners[${l.port}]`, `still names route ${l.route}, which this delta removes or changes to ${routeProtocol(l.route) ?? 'nothing'}`);
    }
  }
  if (c.problems.length > 0) return { ok: false, gap: false, problems: c.problems };

  // The digest: take out what changed, add what replaced it.
  const sum = new DigestSum(baseDigest);
  const swap = (kind: ResourceKind, key: string, before: unknown, after: unknown): void => {
    if (before !== undefined) sum.remove(resourceHash(kind, key, before));
    if (after !== undefined) sum.add(resourceHash(kind, key, after));
  };
  if (dns !== undefined) swap('dns', DNS_KEY, dnsSettings(base.dns), dns);
  for (const [k, v] of dnsServices) swap('dnsService', k, index.dnsServices.get(k), v ?? undefined);
  for (const [k, v] of listeners) swap('listener', k, index.listeners.get(k), v ?? undefined);
  for (const [k, v] of routes) swap('route', k, index.routes.get(k), v ?? undefined);
  for (const [k, v] of nextClusters) {
    const old = index.clusters.get(k);
    if (old === undefined || v === null || settings.has(k)) swap('cluster', k, old && clusterSettings(old), v === null ? undefined : clusterSettings(v));
    swap('endpoints', k, old?.endpoints, v?.endpoints);
  }
  for (const [k, v] of identities) swap('identity', k, index.identities.get(k), v ?? undefined);
  const digest = sum.hex;
  if (digest !== d.digest) {
    return { ok: false, gap: true, problems: [{ path: '$.digest', message: `the table after delta ${base.version}->${String(d.version)} has digest ${digest}, the controller's has ${String(d.digest)}` }] };
  }

  const table: RoutingTable = {
    format: TABLE_FORMAT,
    epoch: base.epoch,
    version: d.version as number,
    generatedAt: d.generatedAt as string,
    dns: dns === undefined && dnsServices.size === 0
      ? base.dns
      : { ...(dns ?? dnsSettings(base.dns)) as Omit<RoutingTable['dns'], 'services'>, services: patch(base.dns.services, dnsServices, dnsServiceKey) },
    listeners: patch(base.listeners, listeners, listenerKey),
    routes: patch(base.routes, routes, (r) => r.id),
    clusters: patch(base.clusters, nextClusters, (cl) => cl.id),
  };
  if (base.identities !== undefined || identities.size > 0) table.identities = patch(base.identities ?? [], identities, (e) => e.address);
  // The base's look-up maps move to the new table, patched in place (copying 10,000 entries per
  // delta cost more than the rest of it); a delta applied to the base again rebuilds its maps.
  indexes.delete(base);
  indexes.set(table, {
    dnsServices: patchMap(index.dnsServices, dnsServices),
    listeners: patchMap(index.listeners, listeners),
    routes: patchMap(index.routes, routes),
    clusters: patchMap(index.clusters, nextClusters),
    identities: patchMap(index.identities, identities),
  });
  return {
    ok: true,
    table,
    digest,
    touched: {
      clusters: new Set(nextClusters.keys()),
      routes: new Set(routes.keys()),
      listeners: new Set([...listeners.keys()].map(Number)),
      dns: dns !== undefined || dnsServices.size > 0,
      identities: identities.size > 0,
    },
  };
}

/** Cluster ids a route refers to: backends, rules' backends, mirror. */
export function referencedClusters(r: RouteEntry): string[] {
  const ids = r.backends.map((b) => b.cluster);
  for (const rule of r.rules) {
    for (const b of clusterBackends(rule)) ids.push(b.cluster);
    if (rule.mirror !== undefined) ids.push(rule.mirror.cluster);
  }
  if (r.mirror !== undefined) ids.push(r.mirror.cluster);
  return ids;
}

/** `list` with changed entries replaced in place, removed ones dropped and new ones appended. */
function patch<T>(list: T[], changes: Map<string, T | null>, key: (e: T) => string): T[] {
  if (changes.size === 0) return list;
  const out: T[] = [];
  const seen = new Set<string>();
  for (const e of list) {
    const k = key(e);
    if (!changes.has(k)) {
      out.push(e);
      continue;
    }
    seen.add(k);
    const next = changes.get(k);
    if (next !== null && next !== undefined) out.push(next);
  }
  for (const [k, next] of changes) if (next !== null && !seen.has(k)) out.push(next);
  return out;
}

/** `map` with `changes` applied, in place: the map belongs to the table being replaced. */
function patchMap<T>(map: Map<string, T>, changes: Map<string, T | null>): Map<string, T> {
  for (const [k, v] of changes) {
    if (v === null) map.delete(k);
    else map.set(k, v);
  }
  return map;
}

/**
 * The controller's side: remembers one hash per resource of the last table it saw, so the next
 * table's changes are found by hashing, not by keeping a second copy of every entry. A resource
 * taken from the same object as last time (content built by patching the previous table) is
 * not hashed again, and the digest is updated for the changes only.
 */
/**
 * A table's entries replaced since `base` (the table last given to a ResourceTracker), each
 * under the key it had (nothing added or removed), as a patching translation knows them.
 * `identities`: the identity map may have changed anywhere.
 */
export interface ContentChanges {
  base: TableResources;
  dnsServices: readonly DnsServiceEntry[];
  listeners: readonly ListenerEntry[];
  routes: readonly RouteEntry[];
  clusters: readonly ClusterEntry[];
  identities: boolean;
}

/** What one resource kind is made of: its key, the object it is taken from, its value. */
interface KindOf<T> {
  key: (item: T) => string;
  source: (item: T) => object;
  value: (item: T) => unknown;
}

const DNS_KIND: KindOf<TableResources['dns']> = { key: () => DNS_KEY, source: (d) => d, value: dnsSettings };
const DNS_SERVICE_KIND: KindOf<DnsServiceEntry> = { key: dnsServiceKey, source: (s) => s, value: (s) => s };
const LISTENER_KIND: KindOf<ListenerEntry> = { key: listenerKey, source: (l) => l, value: (l) => l };
const ROUTE_KIND: KindOf<RouteEntry> = { key: (r) => r.id, source: (r) => r, value: (r) => r };
const CLUSTER_KIND: KindOf<ClusterEntry> = { key: (c) => c.id, source: (c) => c, value: clusterSettings };
const ENDPOINTS_KIND: KindOf<ClusterEntry> = { key: (c) => c.id, source: (c) => c.endpoints, value: (c) => c.endpoints };
const IDENTITY_KIND: KindOf<IdentityEntry> = { key: (e) => e.address, source: (e) => e, value: (e) => e };

/**
 * The controller's side: remembers one hash per resource of the last table it saw, so the next
 * table's changes are found by hashing, not by keeping a second copy of every entry. A resource
 * taken from the same object as last time (content built by patching the previous table) is
 * not hashed again, and the digest is updated for the changes only. Given the entries a
 * patching translation replaced (`ContentChanges`), it looks at those only.
 */
export class ResourceTracker {
  /** One map per kind, keyed by the resource key (strings the table already holds: no concatenation per visit). */
  readonly #entries = new Map<ResourceKind, Map<string, { h: bigint; source: object; gen: number }>>(RESOURCE_KINDS.map((k) => [k, new Map()]));
  #sum = new DigestSum();
  #gen = 0;
  #last: TableResources | undefined;

  /** tableDigest() of the last table given to update(). */
  get digest(): string {
    return this.#sum.hex;
  }

  /**
   * Records `table`'s resources; returns what changed since the previous call and the new
   * digest. With `hint` (relative to the previous table given here) only the hinted entries
   * are looked at; a hint about another table is ignored.
   */
  update(table: TableResources, hint?: ContentChanges): { changes: ResourceChange[]; digest: string } {
    const patch = hint !== undefined && hint.base === this.#last && this.#last !== undefined && this.#known(hint);
    this.#last = table;
    const gen = ++this.#gen;
    const changes: ResourceChange[] = [];
    const seen = new Map<ResourceKind, number>();
    if (patch) {
      this.#pass(changes, gen, 'dns', [table.dns], DNS_KIND);
      this.#pass(changes, gen, 'dnsService', hint.dnsServices, DNS_SERVICE_KIND);
      this.#pass(changes, gen, 'listener', hint.listeners, LISTENER_KIND);
      this.#pass(changes, gen, 'route', hint.routes, ROUTE_KIND);
      this.#pass(changes, gen, 'cluster', hint.clusters, CLUSTER_KIND);
      this.#pass(changes, gen, 'endpoints', hint.clusters, ENDPOINTS_KIND);
      if (hint.identities) {
        seen.set('identity', this.#pass(changes, gen, 'identity', table.identities ?? [], IDENTITY_KIND));
        this.#removeUnseen(changes, gen, ['identity'], seen);
      }
      return { changes, digest: this.#sum.hex };
    }
    seen.set('dns', this.#pass(changes, gen, 'dns', [table.dns], DNS_KIND));
    seen.set('dnsService', this.#pass(changes, gen, 'dnsService', table.dns.services, DNS_SERVICE_KIND));
    seen.set('listener', this.#pass(changes, gen, 'listener', table.listeners, LISTENER_KIND));
    seen.set('route', this.#pass(changes, gen, 'route', table.routes, ROUTE_KIND));
    seen.set('cluster', this.#pass(changes, gen, 'cluster', table.clusters, CLUSTER_KIND));
    seen.set('endpoints', this.#pass(changes, gen, 'endpoints', table.clusters, ENDPOINTS_KIND));
    seen.set('identity', this.#pass(changes, gen, 'identity', table.identities ?? [], IDENTITY_KIND));
    this.#removeUnseen(changes, gen, RESOURCE_KINDS, seen);
    return { changes, digest: this.#sum.hex };
  }

  /** Whether every hinted entry replaces one of the same key (a hint adds and removes nothing). */
  #known(hint: ContentChanges): boolean {
    const has = <T>(kind: ResourceKind, items: readonly T[], k: KindOf<T>): boolean => {
      const entries = this.#entries.get(kind)!;
      return items.every((item) => entries.has(k.key(item)));
    };
    return has('dnsService', hint.dnsServices, DNS_SERVICE_KIND) && has('listener', hint.listeners, LISTENER_KIND)
      && has('route', hint.routes, ROUTE_KIND) && has('cluster', hint.clusters, CLUSTER_KIND);
  }

  /** Records `items` of one kind, adding to `changes` what differs; returns how many known entries were seen. */
  #pass<T>(changes: ResourceChange[], gen: number, kind: ResourceKind, items: readonly T[], k: KindOf<T>): number {
    const entries = this.#entries.get(kind)!;
    const sum = this.#sum;
    let count = 0;
    for (const item of items) {
      const key = k.key(item);
      const src = k.source(item);
      const e = entries.get(key);
      // Seen twice in one table (a duplicate id) counts once, as the table's validation refuses it anyway.
      if (e !== undefined && e.gen !== gen) count++;
      if (e !== undefined && e.source === src) {
        e.gen = gen;
        continue;
      }
      const v = k.value(item);
      const h = resourceHash(kind, key, v);
      if (e === undefined) {
        entries.set(key, { h, source: src, gen });
        count++;
      } else {
        if (e.h !== h) sum.remove(e.h);
        e.source = src;
        e.gen = gen;
        if (e.h === h) continue;
        e.h = h;
      }
      sum.add(h);
      changes.push({ kind, key, value: v } as ResourceChange);
    }
    return count;
  }

  /** Drops the entries of `kinds` this update did not see (removed from the table). */
  #removeUnseen(changes: ResourceChange[], gen: number, kinds: readonly ResourceKind[], seen: ReadonlyMap<ResourceKind, number>): void {
    for (const kind of kinds) {
      const entries = this.#entries.get(kind)!;
      if ((seen.get(kind) ?? 0) >= entries.size) continue;
      for (const [k, e] of entries) {
        if (e.gen === gen) continue;
        entries.delete(k);
        this.#sum.remove(e.h);
        // Endpoints go with their cluster; the dns settings always exist.
        if (kind !== 'endpoints' && kind !== 'dns') changes.push({ kind, key: k } as ResourceChange);
      }
    }
  }
}
