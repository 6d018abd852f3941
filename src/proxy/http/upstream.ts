/**
 * Per-endpoint connection pools to backends (undici): keep-alive, no pipelining, dial timeout
 * from the cluster. `h2c` speaks HTTP/2 with prior knowledge over one multiplexed connection;
 * `https` speaks TLS without certificate verification (the mesh cannot know in-cluster CAs).
 */
import { Client, H2CClient, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ClusterEntry } from '../../table/index.ts';
import type { ClusterRuntime } from '../cluster.ts';
import type { EndpointState } from '../endpoints/endpoint.ts';
import type { ProxyLimits } from '../limits.ts';
import { dialer } from './dial.ts';
import { H1Pool } from './h1-pool.ts';

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
    // A backend's `Keep-Alive: timeout=N` shortens the idle time (to N s minus undici's 2 s
    // margin, so the proxy closes first and never sends into a closing connection); a longer
    // hint never extends the proxy's own limit.
    keepAliveTimeout: limits.upstreamKeepAliveTimeoutMs,
    keepAliveMaxTimeout: limits.upstreamKeepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderSize,
    strictContentLength: true,
  };
  switch (entry.scheme) {
    case 'h2c':
      return new H2CClient(`http://${ep.key}`, { ...common, maxConcurrentStreams: limits.upstreamH2MaxConcurrentStreams });
    case 'http': {
      // Plain HTTP/1.1: the proxy's own pool; undici takes the requests that stream a body.
      const origin = `http://${ep.key}`;
      const options = {
        host: ep.address,
        port: ep.port,
        dialTimeoutMs: entry.dialTimeoutMs,
        keepAliveTimeoutMs: limits.upstreamKeepAliveTimeoutMs,
        maxHeaderSize: limits.maxHeaderSize,
        fallback: () => new Pool(origin, { ...common, pipelining: 1, connections: limits.upstreamMaxConnectionsPerEndpoint || null }),
      };
      const pool = new H1Pool({ ...options, connections: limits.upstreamMaxConnectionsPerEndpoint });
      FRESH.set(pool as unknown as Upstream, () => new H1Pool({ ...options, connections: 1, fallback: () => new Client(origin, { ...common, pipelining: 1 }) }) as unknown as Upstream);
      return pool as unknown as Upstream;
    }
    case 'https': {
      const origin = `${entry.scheme}://${ep.key}`;
      const pool = new Pool(origin, { ...common, pipelining: 1, connections: limits.upstreamMaxConnectionsPerEndpoint || null });
      FRESH.set(pool, () => new Client(origin, { ...common, pipelining: 1 }));
      return pool;
    }
  }
}

/** How to open one more connection to a pool's endpoint, outside the pool (HTTP/1 pools only). */
const FRESH = new WeakMap<Upstream, () => Dispatcher>();

/**
 * A new connection to the endpoint behind `u`, for one request: close it after dispatching.
 * Undefined for h2c, whose one multiplexed connection is not reused the racy way.
 */
export function freshConnection(u: Upstream): Dispatcher | undefined {
  return FRESH.get(u)?.();
}

/** Lets in-flight requests finish, then closes the connections. */
export function closeUpstream(u: Upstream): void {
  u.close().catch(() => u.destroy().catch(() => {}));
}
