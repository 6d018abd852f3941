/**
 * Interfaces shared by the proxy's forwarders (HTTP, TCP, UDP). The endpoint pool owns load
 * balancing and passive health; forwarders only pick, report and release.
 */
import type { IdentityEntry, PortId } from '../table/index.ts';

export interface EndpointHandle {
  readonly address: string;
  readonly port: number;
  /** `address:port` (IPv6 in brackets): stable identity across table updates. */
  readonly key: string;
}

/** Request facts an affinity balancer may use; forwarders pass what they have. */
export interface PickHint {
  /** Value of the balancer's header or cookie, when the balancer asked for one. */
  affinity?: string;
}

export interface EndpointPicker {
  /**
   * A healthy endpoint, or undefined when none is ready. Endpoints in `exclude` (already tried
   * by this request) are skipped unless nothing else is left.
   */
  pick(hint?: PickHint, exclude?: ReadonlySet<EndpointHandle>): EndpointHandle | undefined;
  /** Bracket each use of an endpoint (least-request counts in-flight uses). */
  acquire(endpoint: EndpointHandle): void;
  release(endpoint: EndpointHandle): void;
  /** Passive health: a failed or timed-out dial. After `maxFails` the endpoint rests. */
  reportFailure(endpoint: EndpointHandle): void;
  reportSuccess(endpoint: EndpointHandle): void;
  /** Number of endpoints, healthy or not (0 means "no ready endpoints"). */
  readonly size: number;
}

/** One cluster as a layer-4 forwarder sees it. */
export interface L4Cluster {
  readonly id: PortId;
  readonly picker: EndpointPicker;
  readonly dialTimeoutMs: number;
  readonly readTimeoutMs: number | undefined;
  readonly writeTimeoutMs: number | undefined;
}

/** One TCP or UDP route, swapped atomically when a table is applied. */
export interface L4Route {
  readonly id: PortId;
  /** Weighted choice among the route's backends, once per connection (TCP) or session (UDP). */
  pickCluster(): L4Cluster | undefined;
  /** ACL mode (`RouteEntry.access`): who may open connections or sessions. Absent: everyone. */
  readonly access?: L4Access | undefined;
}

/** A route's access policy as the TCP and UDP listeners check it (see `admits` in l4-listeners.ts). */
export interface L4Access {
  /** `namespace/serviceAccount` of every identity allowed. */
  readonly allowed: ReadonlySet<string>;
  /** Told about each connection or datagram turned away (the route's denial counter). */
  denied(identity: IdentityEntry | undefined): void;
}

/**
 * One accepted TCP connection or UDP session as the observer sees it. Byte counts are live (read
 * when metrics are scraped), so a long connection shows its traffic before it closes.
 */
export interface L4Connection {
  readonly protocol: 'tcp' | 'udp';
  /** performance.now() when the connection was accepted (the session's first datagram). */
  readonly start: number;
  /** The client's address (IPv4-mapped IPv6 shown as IPv4). */
  readonly client: string;
  /** The endpoint relayed to; undefined while dialing and when no dial succeeded. */
  readonly endpoint: EndpointHandle | undefined;
  /** Bytes received from the client so far. */
  readonly bytesIn: number;
  /** Bytes sent to the client so far. */
  readonly bytesOut: number;
}

/** What a layer-4 forwarder reports; the engine turns it into metrics and access log lines. */
export interface L4Observer {
  /** Relaying starts (TCP: the backend is connected; UDP: the session's socket is). */
  connectionOpened(route: PortId, cluster: PortId, conn: L4Connection): void;
  /** Called once for every opened connection, after both sides have closed (the session expired). */
  connectionClosed(route: PortId, cluster: PortId, conn: L4Connection): void;
  /** A TCP connection turned away (reset) because no endpoint could be dialed; never opened. */
  connectionFailed(route: PortId, cluster: PortId | undefined, conn: L4Connection): void;
  /** ACL mode turned a TCP connection away before anything was dialed (optional: logged when present). */
  connectionDenied?(route: PortId, conn: L4Connection): void;
  /** No endpoint, dial failure or dial timeout, per attempt. */
  connectError(route: PortId, cluster: PortId | undefined, reason: 'no-endpoint' | 'refused' | 'timeout' | 'error'): void;
}
