/**
 * Interfaces shared by the proxy's forwarders (HTTP, TCP, UDP). The endpoint pool owns load
 * balancing and passive health; forwarders only pick, report and release.
 */
import type { PortId } from '../table/index.ts';

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
}

/** What a layer-4 forwarder reports; the engine turns it into metrics and logs. */
export interface L4Observer {
  connectionOpened(route: PortId, cluster: PortId): void;
  connectionClosed(route: PortId, cluster: PortId, bytesIn: number, bytesOut: number): void;
  /** No endpoint, dial failure or dial timeout, per attempt. */
  connectError(route: PortId, cluster: PortId | undefined, reason: 'no-endpoint' | 'refused' | 'timeout' | 'error'): void;
}
