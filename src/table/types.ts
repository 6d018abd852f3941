/**
 * The routing table: the only contract between the controller and the proxies.
 *
 * It is plain JSON (it travels as NDJSON and is persisted to disk), so it holds numbers in
 * milliseconds, expression *sources* (each proxy compiles them when it applies a table) and
 * string ids for cross references. The shape follows listeners -> routes -> clusters ->
 * endpoints, so each Service's own annotations (scheme, timeouts, balancing, passive health)
 * live on its cluster and travel with it when another Service splits traffic onto it. Each
 * route policy's type, validation and shared defaults are in its own module under policies/.
 */

import type {
  AccessPolicy, AccessSource, CircuitBreakerPolicy, LoadBalancer, MaintenancePolicy, MirrorPolicy, RateLimitPolicy, RetryPolicy, RoutePolicies,
} from './policies/index.ts';

import type { IdentityEntry, RouteRule } from './rules.ts';

export type { AccessPolicy, AccessSource, CircuitBreakerPolicy, LoadBalancer, MaintenancePolicy, MirrorPolicy, RateLimitPolicy, RetryPolicy };
export type * from './rules.ts';

export const TABLE_FORMAT = 1 as const;

/** `namespace/name`, e.g. `test/server`. */
export type ServiceId = string;
/** `namespace/name:port`, e.g. `test/server:80`: one port of one Service. */
export type PortId = string;

export type TrafficType = 'http' | 'tcp' | 'udp';
export type Scheme = 'http' | 'https' | 'h2c';

export interface RoutingTable {
  format: typeof TABLE_FORMAT;
  /**
   * Identifies the controller lineage that produced `version`. A new epoch (controller
   * restart without persisted state, standalone start) means versions restart; proxies compare
   * versions only within one epoch.
   */
  epoch: string;
  /** Strictly increasing within an epoch. */
  version: number;
  /** RFC 3339 time the controller built this table. */
  generatedAt: string;
  /** Mesh DNS: zones answered and the names in them. */
  dns: DnsConfig;
  listeners: ListenerEntry[];
  routes: RouteEntry[];
  clusters: ClusterEntry[];
  /**
   * Pod address -> (namespace, ServiceAccount), for consumer routes and ACL mode. Absent:
   * empty (every client unknown).
   */
  identities?: IdentityEntry[];
}

export interface DnsConfig {
  /** Zones answered, canonical first: `hostmesh`, then migration zones such as `traefik.mesh`. */
  zones: string[];
  /** TTL of answers in seconds. */
  ttl: number;
  /** Names `<name>.<namespace>.<zone>` answered from this list; anything else is NXDOMAIN. */
  services: DnsServiceEntry[];
}

export interface DnsServiceEntry {
  namespace: string;
  name: string;
  /** What A/AAAA answer: the shadow Service ClusterIP(s) in a cluster, 127.0.0.1 standalone. */
  addresses: string[];
  /** SRV records: `port` is the port a client uses at `addresses` (the listener port standalone). */
  ports: { name: string; protocol: 'tcp' | 'udp'; port: number }[];
}

/** One proxy port: the port identifies the destination, so no Host header is trusted. */
export interface ListenerEntry {
  /** Port the proxy listens on (the shadow Service's targetPort, or a standalone port). */
  port: number;
  protocol: TrafficType;
  /** The RouteEntry.id this listener serves. */
  route: PortId;
}

export interface WeightedCluster {
  cluster: PortId;
  /** Relative weight, integer >= 0. A weight of 0 gets no traffic. */
  weight: number;
}

/**
 * Everything about handling traffic addressed to one port of one meshed Service: where it goes,
 * and its policies (RoutePolicies: one field per module of policies/).
 */
export interface RouteEntry extends RoutePolicies {
  /** `namespace/name:port` of the addressed Service port. */
  id: PortId;
  namespace: string;
  service: string;
  port: number;
  protocol: TrafficType;
  /**
   * Ordered rules (rules.ts, docs/rule-model.md); the first that applies to the client and
   * matches the request takes it. Requests no rule takes go to `backends`. Only HTTP routes
   * have rules.
   */
  rules: RouteRule[];
  /** Default backends, weighted (smooth weighted round robin). Usually the route's own cluster. */
  backends: WeightedCluster[];
}

/** One port of one Service as a destination: its own settings and its ready endpoints. */
export interface ClusterEntry {
  id: PortId;
  namespace: string;
  service: string;
  port: number;
  protocol: TrafficType;
  /** How to speak to the endpoints (HTTP clusters only). */
  scheme: Scheme;
  dialTimeoutMs: number;
  /**
   * Longest wait for the next read from the backend, in ms. Unset: HTTP ports use the proxy's
   * default, TCP and UDP none; 0: none.
   */
  readTimeoutMs?: number;
  /** Longest wait for the next write to the backend, in ms (0 or unset: none). */
  writeTimeoutMs?: number;
  /** HTTP: longest wait for the next request body bytes from the client, in ms. Unset: the proxy's default; 0: none. */
  bodyTimeoutMs?: number;
  loadBalancer: LoadBalancer;
  /** Passive health: after `maxFails` failures an endpoint is skipped for `failDurationMs`. */
  passiveHealth: { maxFails: number; failDurationMs: number };
  endpoints: Endpoint[];
}

export interface Endpoint {
  /** IPv4 or IPv6 address of a ready endpoint. */
  address: string;
  /** Resolved target port. */
  port: number;
  /** The node the endpoint runs on, when known (for diagnostics). */
  nodeName?: string;
  /** The target pod `namespace/name`, when known (for diagnostics). */
  target?: string;
}

/** What translation produces and the publisher stamps into a RoutingTable. */
export type TableContent = Omit<RoutingTable, 'format' | 'epoch' | 'version' | 'generatedAt'>;
