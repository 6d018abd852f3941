/**
 * A UDP listener for one route. Each client address:port gets a session (a connected upstream
 * socket to one endpoint of the cluster picked for it); replies go back through the listening
 * socket. Sessions expire when idle and are bounded in number (least recently used evicted),
 * so a flood of source ports cannot exhaust file descriptors.
 */
import { createSocket } from 'node:dgram';
import { LRUCache } from 'lru-cache';
import { listenError } from './listen-error.js';
import { UdpSession } from './udp-session.js';
/** Idle expiry when the cluster sets no read timeout: the Linux conntrack default for UDP. */
export const DEFAULT_UDP_IDLE_MS = 30_000;
/** Sessions (one upstream socket each) kept at once per listener. */
export const DEFAULT_MAX_UDP_SESSIONS = 10_000;
export function createUdpListener(opts) {
    const { host, observer } = opts;
    let route = opts.route;
    const log = opts.log.child({ listener: 'udp', route: route.id });
    const idleDefault = opts.idleTimeoutMs ?? DEFAULT_UDP_IDLE_MS;
    let evictions = 0;
    let draining = false;
    let drained;
    let closing;
    const listening = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reusePort: opts.reusePort ?? false });
    const sessions = new LRUCache({
        max: opts.maxSessions ?? DEFAULT_MAX_UDP_SESSIONS,
        disposeAfter: (session, _key, reason) => {
            if (reason === 'evict') {
                evictions++;
                log.debug({ client: session.key, max: sessions.max }, 'udp session bound reached, evicting the least recently used');
            }
            session.close();
            if (draining && sessions.size === 0)
                drained?.();
        },
    });
    const ctx = {
        observer,
        listening,
        log,
        expire: (session) => {
            // Only forget the session that is actually registered under this key.
            if (sessions.peek(session.key) === session)
                sessions.delete(session.key);
            else
                session.close();
        },
    };
    const open = (key, rinfo) => {
        const r = route;
        const cluster = r.pickCluster();
        if (cluster === undefined) {
            observer.connectError(r.id, undefined, 'no-endpoint');
            return undefined;
        }
        const endpoint = cluster.picker.size > 0 ? cluster.picker.pick() : undefined;
        if (endpoint === undefined) {
            observer.connectError(r.id, cluster.id, 'no-endpoint');
            return undefined;
        }
        return new UdpSession(ctx, r.id, key, rinfo, cluster, endpoint, cluster.readTimeoutMs ?? idleDefault);
    };
    listening.on('message', (msg, rinfo) => {
        const key = `${rinfo.address} ${rinfo.port}`;
        let session = sessions.get(key);
        if (session === undefined) {
            if (draining)
                return;
            session = open(key, rinfo);
            if (session === undefined)
                return;
            sessions.set(key, session);
        }
        session.fromClient(msg);
    });
    let bound = false;
    // Send errors after start-up (a client's ICMP, EMSGSIZE): logged, never thrown.
    listening.on('error', (err) => {
        if (bound)
            log.warn({ err: err.message }, 'udp listener error');
    });
    return {
        get route() {
            return route;
        },
        set route(next) {
            route = next;
        },
        get connections() {
            return sessions.size;
        },
        get evictions() {
            return evictions;
        },
        get port() {
            try {
                return listening.address().port;
            }
            catch {
                return opts.port;
            }
        },
        listen() {
            return new Promise((resolve, reject) => {
                const onError = (err) => {
                    listening.removeListener('listening', onListening);
                    reject(listenError(`udp listener for ${route.id}`, host, opts.port, err));
                };
                const onListening = () => {
                    listening.removeListener('error', onError);
                    bound = true;
                    resolve();
                };
                listening.once('error', onError);
                listening.once('listening', onListening);
                listening.bind({ address: host, port: opts.port });
            });
        },
        close(drainMs) {
            closing ??= new Promise((resolve) => {
                draining = true;
                let done = false;
                const finish = () => {
                    if (done)
                        return;
                    done = true;
                    clearTimeout(deadline);
                    sessions.clear();
                    try {
                        listening.close(() => resolve());
                    }
                    catch {
                        resolve();
                    }
                };
                const deadline = sessions.size === 0 ? undefined : setTimeout(finish, drainMs);
                if (deadline === undefined)
                    finish();
                else
                    drained = finish;
            });
            return closing;
        },
    };
}
