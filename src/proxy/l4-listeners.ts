/**
 * The seam to the TCP and UDP forwarders (src/proxy/l4/): the factory shape the engine calls,
 * registered by protocol in the engine options, and the L4 routes it hands them.
 */
import type { Logger } from 'pino';
import type { IdentityEntry, RouteEntry } from '../table/index.ts';
import type { ClusterRuntime } from './cluster.ts';
import type { IdentityLookup } from './identity.ts';
import type { L4Access, L4Cluster, L4Observer, L4Route } from './types.ts';
import { WeightedChoice } from './weighted.ts';

export interface L4ListenerOptions {
  host: string;
  port: number;
  route: L4Route;
  observer: L4Observer;
  reusePort?: boolean;
  log: Logger;
  /**
   * Who a client is, from its connection's remote address (the table's identity map; the
   * engine's, kept current across applies). Absent in tests that build listeners alone.
   */
  identities?: IdentityLookup;
}

/** A TCP or UDP listener as the engine drives it. */
export interface L4Listener {
  /** Binds the port; rejects (e.g. EADDRINUSE) without side effects. */
  listen(): Promise<void>;
  /** Swapped when a table is applied; new connections/sessions use the new route. */
  route: L4Route;
  /** Stops accepting, lets open connections/sessions run up to `drainMs`, then closes them. */
  close(drainMs: number): Promise<void>;
}

export type L4ListenerFactory = (opts: L4ListenerOptions) => L4Listener;

/** `createTcpListener` and `createUdpListener` of src/proxy/l4/, plugged in by the caller. */
export interface L4Factories {
  tcp?: L4ListenerFactory;
  udp?: L4ListenerFactory;
}

function hasEndpoints(c: L4Cluster): boolean {
  return c.picker.size > 0;
}

/**
 * A route for the L4 forwarders: weighted backend choice once per connection or session, and in
 * ACL mode the identities allowed (`denied` counts the rest).
 */
export function buildL4Route<L>(entry: RouteEntry, clusters: ReadonlyMap<string, ClusterRuntime<L>>, denied: (identity: IdentityEntry | undefined) => void = () => {}): L4Route {
  const access: L4Access | undefined = entry.access === undefined
    ? undefined
    : { allowed: new Set(entry.access.allow.map((s) => `${s.namespace}/${s.serviceAccount}`)), denied };
  // Maintenance: no backend at all, so TCP connections are reset and UDP datagrams dropped.
  if (entry.maintenance !== undefined) return { id: entry.id, pickCluster: () => undefined, access };
  const choice = new WeightedChoice<L4Cluster>(entry.backends.map((b) => ({ item: clusters.get(b.cluster)!, weight: b.weight })));
  return {
    id: entry.id,
    pickCluster: () => choice.next(hasEndpoints) ?? choice.next(),
    access,
  };
}

/**
 * Whether a new TCP connection or UDP session from `client` may use `route`: always without
 * ACL mode; in ACL mode only when its identity (identity map) is allowed. A client the map does
 * not know is denied. Each denial is counted on the route.
 */
export function admits(route: L4Route, identities: IdentityLookup | undefined, client: string): boolean {
  const acl = route.access;
  if (acl === undefined) return true;
  const id = identities?.identify(client);
  if (id !== undefined && acl.allowed.has(`${id.namespace}/${id.serviceAccount}`)) return true;
  acl.denied(id);
  return false;
}
