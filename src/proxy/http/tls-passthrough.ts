/**
 * A TLS ClientHello on an HTTP port: the client talks TLS end to end with the backend (an API
 * server, a Service whose port is named http but serves https), which the proxy cannot parse.
 * As Linkerd's protocol detection does, the connection is passed through as plain TCP to an
 * endpoint of the route's backend, with the TCP forwarder's dialing and relaying.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { dialCluster } from '../l4/tcp-dial.ts';
import { relay } from '../l4/tcp-relay.ts';
import type { L4Observer } from '../types.ts';
import type { HttpRoute, RouteBackend } from './exchange.ts';

/** Weighted choice among the route's default backends (rules match HTTP requests, not TLS). */
function chooseBackend(route: HttpRoute): RouteBackend | undefined {
  let total = 0;
  for (const b of route.backends) total += b.weight;
  if (total <= 0) return undefined;
  let x = Math.random() * total;
  for (const b of route.backends) {
    x -= b.weight;
    if (x < 0 && b.weight > 0) return b;
  }
  return route.backends.find((b) => b.weight > 0);
}

export function passThroughTls(client: Socket, route: HttpRoute, log: Logger): void {
  const backend = chooseBackend(route);
  if (backend === undefined) {
    client.destroy();
    return;
  }
  const cluster = backend.cluster;
  const observer: L4Observer = {
    connectionOpened: () => {},
    connectionClosed: () => {},
    connectionFailed: () => {},
    connectError: (_route, _cluster, reason) => {
      if (reason !== 'no-endpoint') backend.stats.connectErrors++;
    },
  };
  const abandon = dialCluster(route.id, cluster, observer, (upstream, endpoint) => {
    client.removeListener('close', abandon);
    if (upstream === undefined || endpoint === undefined) {
      client.destroy();
      return;
    }
    if (client.destroyed) {
      upstream.destroy();
      cluster.picker.release(endpoint);
      return;
    }
    relay(client, upstream, { readTimeoutMs: undefined, writeTimeoutMs: cluster.writeTimeoutMs }, log, () => cluster.picker.release(endpoint));
    client.resume();
  });
  client.once('close', abandon);
}
