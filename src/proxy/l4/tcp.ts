/**
 * A TCP listener for one route: each accepted connection picks a cluster (kept for its whole
 * life, even when the engine swaps the route), dials an endpoint with retries, then relays
 * bytes both ways until both directions are done.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { KEEPALIVE_INITIAL_DELAY_MS, dialCluster } from './tcp-dial.ts';
import { listenError } from './listen-error.ts';
import { relay } from './tcp-relay.ts';
import { admits } from '../l4-listeners.ts';
import type { L4Listener, L4ListenerOptions } from '../l4-listeners.ts';
import type { EndpointHandle, L4Connection, L4Route } from '../types.ts';
import { clientAddress } from '../http/headers.ts';

/** The engine's listener options (the L4 seam); `reusePort` lets workers share the port. */
export type TcpListenerOptions = L4ListenerOptions;

/**
 * The seam's listener (listen rejects with a `listen-failed` HostmeshError; connections in flight
 * keep the cluster they started with; close drains for up to `drainMs`), plus:
 */
export interface TcpListener extends L4Listener {
  /** Accepted connections not yet closed (dialing or relaying). */
  readonly connections: number;
  /** The bound port once listening (useful with port 0), else the configured one. */
  readonly port: number;
}

interface Connection {
  abort(): void;
}

function noop(): void {}

/** What the observer sees of an accepted connection; the byte counts are the client socket's. */
class TcpConnection implements L4Connection {
  readonly protocol = 'tcp';
  readonly start = performance.now();
  readonly client: string;
  endpoint: EndpointHandle | undefined = undefined;
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.client = clientAddress(socket.remoteAddress);
  }

  get bytesIn(): number {
    return this.#socket.bytesRead;
  }

  get bytesOut(): number {
    return this.#socket.bytesWritten;
  }
}

export function createTcpListener(opts: TcpListenerOptions): TcpListener {
  const { host, observer } = opts;
  let route = opts.route;
  const log = opts.log.child({ listener: 'tcp', route: route.id });
  const live = new Set<Connection>();
  let closing: Promise<void> | undefined;
  let drained: (() => void) | undefined;

  const finished = (conn: Connection): void => {
    live.delete(conn);
    if (drained !== undefined && live.size === 0) drained();
  };

  const accept = (client: Socket): void => {
    const r = route;
    const tracked = new TcpConnection(client);
    client.on('error', noop);
    // ACL mode: a denied client is closed before anything is dialed, so no byte reaches a backend.
    if (!admits(r, opts.identities, tracked.client)) {
      observer.connectionDenied?.(r.id, tracked);
      client.destroy();
      return;
    }
    const cluster = r.pickCluster();
    if (cluster === undefined) {
      observer.connectError(r.id, undefined, 'no-endpoint');
      observer.connectionFailed(r.id, undefined, tracked);
      client.resetAndDestroy();
      return;
    }
    // The client is not read from until the upstream is connected: what it sends meanwhile
    // waits in the socket's buffer (and then the kernel's), so no byte is lost.
    let abort = (): void => {
      cancelDial();
      client.resetAndDestroy();
    };
    const conn: Connection = { abort: () => abort() };
    live.add(conn);
    const onEarlyClose = (): void => {
      cancelDial();
      finished(conn);
    };
    client.once('close', onEarlyClose);

    const cancelDial = dialCluster(r.id, cluster, observer, (upstream, endpoint) => {
      if (upstream === undefined || endpoint === undefined) {
        // Tried what there was: tell the client plainly (RST) rather than with an empty stream.
        if (!client.destroyed) observer.connectionFailed(r.id, cluster.id, tracked);
        client.resetAndDestroy();
        return;
      }
      client.removeListener('close', onEarlyClose);
      client.removeListener('error', noop);
      if (client.destroyed) {
        // Raced with the client's own close: give the endpoint back untouched.
        upstream.destroy();
        cluster.picker.release(endpoint);
        finished(conn);
        return;
      }
      tracked.endpoint = endpoint;
      observer.connectionOpened(r.id, cluster.id, tracked);
      abort = relay(client, upstream, cluster, log, () => {
        cluster.picker.release(endpoint);
        observer.connectionClosed(r.id, cluster.id, tracked);
        finished(conn);
      });
    });
  };

  const server = createServer({
    allowHalfOpen: true,
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
  }, accept);
  // Accept errors (EMFILE, ENFILE) after start-up: logged, never thrown.
  server.on('error', (err) => {
    if (server.listening) log.warn({ err: err.message }, 'tcp listener error');
  });

  return {
    get route() {
      return route;
    },
    set route(next: L4Route) {
      route = next;
    },
    get connections() {
      return live.size;
    },
    get port() {
      return (server.address() as AddressInfo | null)?.port ?? opts.port;
    },
    listen() {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.removeListener('listening', onListening);
          reject(listenError(`tcp listener for ${route.id}`, host, opts.port, err));
        };
        const onListening = (): void => {
          server.removeListener('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen({ host, port: opts.port, reusePort: opts.reusePort ?? false });
      });
    },
    close(drainMs: number) {
      closing ??= new Promise<void>((resolve) => {
        const serverClosed = new Promise<void>((_resolve) => server.close(() => _resolve()));
        const allDone = new Promise<void>((_resolve) => {
          if (live.size === 0) _resolve();
          else drained = _resolve;
        });
        const deadline = setTimeout(() => {
          if (live.size > 0) log.info({ connections: live.size, drainMs }, 'drain deadline reached, closing remaining connections');
          for (const conn of live) conn.abort();
        }, drainMs);
        void Promise.all([serverClosed, allDone]).then(() => {
          clearTimeout(deadline);
          resolve();
        });
      });
      return closing;
    },
  };
}
