/**
 * A TCP listener for one route: each accepted connection picks a cluster (kept for its whole
 * life, even when the engine swaps the route), dials an endpoint with retries, then relays
 * bytes both ways until both directions are done.
 */
import { createServer } from 'node:net';
import { KEEPALIVE_INITIAL_DELAY_MS, dialCluster } from './tcp-dial.js';
import { listenError } from './listen-error.js';
import { relay } from './tcp-relay.js';
import { clientAddress } from '../http/headers.js';
function noop() { }
/** What the observer sees of an accepted connection; the byte counts are the client socket's. */
class TcpConnection {
    protocol = 'tcp';
    start = performance.now();
    client;
    endpoint = undefined;
    #socket;
    constructor(socket) {
        this.#socket = socket;
        this.client = clientAddress(socket.remoteAddress);
    }
    get bytesIn() {
        return this.#socket.bytesRead;
    }
    get bytesOut() {
        return this.#socket.bytesWritten;
    }
}
export function createTcpListener(opts) {
    const { host, observer } = opts;
    let route = opts.route;
    const log = opts.log.child({ listener: 'tcp', route: route.id });
    const live = new Set();
    let closing;
    let drained;
    const finished = (conn) => {
        live.delete(conn);
        if (drained !== undefined && live.size === 0)
            drained();
    };
    const accept = (client) => {
        const r = route;
        const cluster = r.pickCluster();
        const tracked = new TcpConnection(client);
        client.on('error', noop);
        if (cluster === undefined) {
            observer.connectError(r.id, undefined, 'no-endpoint');
            observer.connectionFailed(r.id, undefined, tracked);
            client.resetAndDestroy();
            return;
        }
        // The client is not read from until the upstream is connected: what it sends meanwhile
        // waits in the socket's buffer (and then the kernel's), so no byte is lost.
        let abort = () => {
            cancelDial();
            client.resetAndDestroy();
        };
        const conn = { abort: () => abort() };
        live.add(conn);
        const onEarlyClose = () => {
            cancelDial();
            finished(conn);
        };
        client.once('close', onEarlyClose);
        const cancelDial = dialCluster(r.id, cluster, observer, (upstream, endpoint) => {
            if (upstream === undefined || endpoint === undefined) {
                // Tried what there was: tell the client plainly (RST) rather than with an empty stream.
                if (!client.destroyed)
                    observer.connectionFailed(r.id, cluster.id, tracked);
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
        if (server.listening)
            log.warn({ err: err.message }, 'tcp listener error');
    });
    return {
        get route() {
            return route;
        },
        set route(next) {
            route = next;
        },
        get connections() {
            return live.size;
        },
        get port() {
            return server.address()?.port ?? opts.port;
        },
        listen() {
            return new Promise((resolve, reject) => {
                const onError = (err) => {
                    server.removeListener('listening', onListening);
                    reject(listenError(`tcp listener for ${route.id}`, host, opts.port, err));
                };
                const onListening = () => {
                    server.removeListener('error', onError);
                    resolve();
                };
                server.once('error', onError);
                server.once('listening', onListening);
                server.listen({ host, port: opts.port, reusePort: opts.reusePort ?? false });
            });
        },
        close(drainMs) {
            closing ??= new Promise((resolve) => {
                const serverClosed = new Promise((_resolve) => server.close(() => _resolve()));
                const allDone = new Promise((_resolve) => {
                    if (live.size === 0)
                        _resolve();
                    else
                        drained = _resolve;
                });
                const deadline = setTimeout(() => {
                    if (live.size > 0)
                        log.info({ connections: live.size, drainMs }, 'drain deadline reached, closing remaining connections');
                    for (const conn of live)
                        conn.abort();
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
