/**
 * Per-endpoint connection pools to backends (undici): keep-alive, no pipelining, dial timeout
 * from the cluster. `h2c` speaks HTTP/2 with prior knowledge over one multiplexed connection;
 * `https` speaks TLS without certificate verification (the mesh cannot know in-cluster CAs).
 */
import { H2CClient, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ClusterEntry } from '../../table/index.ts';
import type { ClusterRuntime } from '../cluster.ts';
import type { EndpointState } from '../endpoints/endpoint.ts';
import type { ProxyLimits } from '../limits.ts';
import { dialer } from './dial.ts';

export type Upstream = Dispatcher;
export type HttpCluster = ClusterRuntime<Upstream>;

export type UpstreamLimits = Pick<ProxyLimits, 'upstreamKeepAliveTimeoutMs' | 'upstreamMaxConnectionsPerEndpoint' | 'maxHeaderSize' | 'upstreamH2MaxConcurrentStreams'>;

export function createUpstream(entry: ClusterEntry, ep: EndpointState, limits: UpstreamLimits): Upstream {
  const common = {
    connect: dialer(entry.scheme, entry.dialTimeoutMs),
    // Read timeouts are the proxy's own (see attempt.ts): undici's would also fire while the
    // client, not the backend, is slow.
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: limits.upstreamKeepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderSize,
    strictContentLength: true,
  };
  switch (entry.scheme) {
    case 'h2c':
      return new H2CClient(`http://${ep.key}`, { ...common, maxConcurrentStreams: limits.upstreamH2MaxConcurrentStreams });
    case 'https':
      return new Pool(`https://${ep.key}`, {
        ...common,
        pipelining: 1,
        connections: limits.upstreamMaxConnectionsPerEndpoint || null,
      });
    case 'http':
      return new Pool(`http://${ep.key}`, { ...common, pipelining: 1, connections: limits.upstreamMaxConnectionsPerEndpoint || null });
  }
}

/** Lets in-flight requests finish, then closes the connections. */
export function closeUpstream(u: Upstream): void {
  u.close().catch(() => u.destroy().catch(() => {}));
}
