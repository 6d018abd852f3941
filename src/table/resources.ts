/**
 * A routing table seen as a set of named resources, the unit of incremental distribution
 * (docs/distribution.md): the DNS settings, one DNS name per Service, one listener per port,
 * one route per Service port, one cluster's settings per destination port and that cluster's
 * endpoints. Endpoints are their own resource because they change most often: moving one
 * endpoint re-sends one cluster's endpoint list, not its settings or anything else.
 *
 * The table digest is a sum (mod 2^128) of one hash per resource, so a change of a few
 * resources updates it without rehashing the rest, and it does not depend on array order.
 * A new kind is one more `ResourceKind` and one more branch in `forEachResource` and in the
 * delta applier, as the identity map's entries (`identity`, keyed by pod address) were.
 */
import { hash } from 'node:crypto';
import type { ClusterEntry, DnsConfig, DnsServiceEntry, Endpoint, IdentityEntry, ListenerEntry, RouteEntry, RoutingTable } from './types.ts';

export type DnsSettings = Omit<DnsConfig, 'services'>;
export type ClusterSettings = Omit<ClusterEntry, 'endpoints'>;

/** Every resource kind with the shape of its value. */
export interface ResourceValues {
  dns: DnsSettings;
  dnsService: DnsServiceEntry;
  listener: ListenerEntry;
  route: RouteEntry;
  cluster: ClusterSettings;
  endpoints: Endpoint[];
  /** One entry of the identity map (`RoutingTable.identities`), keyed by its address. */
  identity: IdentityEntry;
}

export type ResourceKind = keyof ResourceValues;

export const RESOURCE_KINDS: readonly ResourceKind[] = ['dns', 'dnsService', 'listener', 'route', 'cluster', 'endpoints', 'identity'];

/** The parts of a table that are resources (everything but its version and timestamps). */
export type TableResources = Pick<RoutingTable, 'dns' | 'listeners' | 'routes' | 'clusters' | 'identities'>;

/**
 * One resource set (`value` present) or removed (`value` absent) by a delta. The `dns`
 * settings are never removed; removing a cluster removes its endpoints with it.
 */
export type ResourceChange = { [K in ResourceKind]: { kind: K; key: string; value?: ResourceValues[K] } }[ResourceKind];

/** Key of the DNS settings, the one resource of its kind. */
export const DNS_KEY = 'dns';

export function dnsServiceKey(s: Pick<DnsServiceEntry, 'namespace' | 'name'>): string {
  return `${s.namespace}/${s.name}`;
}

export function listenerKey(l: Pick<ListenerEntry, 'port'>): string {
  return String(l.port);
}

/** A cluster's settings: the entry without its endpoints (same key order, so the same JSON). */
export function clusterSettings(entry: ClusterEntry): ClusterSettings {
  const settings: Partial<ClusterEntry> = { ...entry };
  delete settings.endpoints;
  return settings as ClusterSettings;
}

export function dnsSettings(dns: DnsConfig): DnsSettings {
  const settings: Partial<DnsConfig> = { ...dns };
  delete settings.services;
  return settings as DnsSettings;
}

/** Calls `fn` for every resource of `table`. */
export function forEachResource(table: TableResources, fn: (change: Required<ResourceChange>) => void): void {
  fn({ kind: 'dns', key: DNS_KEY, value: dnsSettings(table.dns) });
  for (const s of table.dns.services) fn({ kind: 'dnsService', key: dnsServiceKey(s), value: s });
  for (const l of table.listeners) fn({ kind: 'listener', key: listenerKey(l), value: l });
  for (const r of table.routes) fn({ kind: 'route', key: r.id, value: r });
  for (const c of table.clusters) {
    fn({ kind: 'cluster', key: c.id, value: clusterSettings(c) });
    fn({ kind: 'endpoints', key: c.id, value: c.endpoints });
  }
  for (const e of table.identities ?? []) fn({ kind: 'identity', key: e.address, value: e });
}

const MOD = 1n << 128n;

/** 128-bit hash of one resource, its kind and key included. */
export function resourceHash(kind: ResourceKind, key: string, value: unknown): bigint {
  return BigInt(`0x${hash('sha256', `${kind}\n${key}\n${JSON.stringify(value)}`).slice(0, 32)}`);
}

/** The digest of a table as the sum of its resource hashes; see the file comment. */
export class DigestSum {
  #sum: bigint;

  constructor(hex?: string) {
    this.#sum = hex === undefined ? 0n : BigInt(`0x${hex}`);
  }

  add(h: bigint): void {
    this.#sum = (this.#sum + h) % MOD;
  }

  remove(h: bigint): void {
    this.#sum = (this.#sum - h + MOD) % MOD;
  }

  get hex(): string {
    return this.#sum.toString(16).padStart(32, '0');
  }
}

/** Hash of what a table routes, ignoring its version and timestamps (see the file comment). */
export function resourcesDigest(table: TableResources): string {
  const sum = new DigestSum();
  forEachResource(table, (r) => sum.add(resourceHash(r.kind, r.key, r.value)));
  return sum.hex;
}
