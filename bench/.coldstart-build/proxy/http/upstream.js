/**
 * Per-endpoint connection pools to backends (undici): keep-alive, no pipelining, dial timeout
 * from the cluster. `h2c` speaks HTTP/2 with prior knowledge over one multiplexed connection;
 * `https` speaks TLS without certificate verification (the mesh cannot know in-cluster CAs).
 */
import { Client, H2CClient, Pool } from 'undici';
import { dialer } from './dial.js';
import { H1Pool } from './h1-pool.js';
export function createUpstream(entry, ep, limits) {
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
            FRESH.set(pool, () => new H1Pool({ ...options, connections: 1, fallback: () => new Client(origin, { ...common, pipelining: 1 }) }));
            return pool;
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
const FRESH = new WeakMap();
/**
 * A new connection to the endpoint behind `u`, for one request: close it after dispatching.
 * Undefined for h2c, whose one multiplexed connection is not reused the racy way.
 */
export function freshConnection(u) {
    return FRESH.get(u)?.();
}
/** Lets in-flight requests finish, then closes the connections. */
export function closeUpstream(u) {
    u.close().catch(() => u.destroy().catch(() => { }));
}
