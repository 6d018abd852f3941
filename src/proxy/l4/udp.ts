/**
 * A UDP listener for one route. Each client address:port gets a session (a connected upstream
 * socket to one endpoint of the cluster picked for it); replies go back through the listening
 * socket. Sessions expire when idle and are bounded in number (least recently used evicted),
 * so a flood of source ports cannot exhaust file descriptors.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { LRUCache } from 'lru-cache';
import { admits } from '../l4-listeners.ts';
import type { L4Listener, L4ListenerOptions } from '../l4-listeners.ts';
import type { L4Route } from '../types.ts';
import { listenError } from './listen-error.ts';
import { UdpSession } from './udp-session.ts';
import type { SessionContext } from './udp-session.ts';

/** Idle expiry when the cluster sets no read timeout: the Linux conntrack default for UDP. */
export const DEFAULT_UDP_IDLE_MS = 30_000;
/** Sessions (one upstream socket each) kept at once per listener. */
export const DEFAULT_MAX_UDP_SESSIONS = 10_000;

/** The engine's listener options (the L4 seam; with `reusePort` the kernel spreads flows by hash), plus: */
export interface UdpListenerOptions extends L4ListenerOptions {
  maxSessions?: number;
  /** Idle expiry for clusters without `readTimeoutMs`. */
  idleTimeoutMs?: number;
}

/**
 * The seam's listener (a new route applies to new sessions; existing ones keep their cluster and
 * endpoint; close relays for existing sessions for up to `drainMs`), plus:
 */
export interface UdpListener extends L4Listener {
  /** Open sessions. */
  readonly connections: number;
  /** Sessions evicted because the bound was reached (for diagnostics). */
  readonly evictions: number;
  readonly port: number;
}

export function createUdpListener(opts: UdpListenerOptions): UdpListener {
  const { host, observer } = opts;
  let route = opts.route;
  const log = opts.log.child({ listener: 'udp', route: route.id });
  const idleDefault = opts.idleTimeoutMs ?? DEFAULT_UDP_IDLE_MS;
  let evictions = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const listening = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reusePort: opts.reusePort ?? false });

  const sessions = new LRUCache<string, UdpSession>({
    max: opts.maxSessions ?? DEFAULT_MAX_UDP_SESSIONS,
    disposeAfter: (session, _key, reason) => {
      if (reason === 'evict') {
        evictions++;
        log.debug({ client: session.key, max: sessions.max }, 'udp session bound reached, evicting the least recently used');
      }
      session.close();
      if (draining && sessions.size === 0) drained?.();
    },
  });

  const ctx: SessionContext = {
    observer,
    listening,
    log,
    expire: (session) => {
      // Only forget the session that is actually registered under this key.
      if (sessions.peek(session.key) === session) sessions.delete(session.key);
      else session.close();
    },
  };

  const open = (key: string, rinfo: RemoteInfo): UdpSession | undefined => {
    const r = route;
    // ACL mode: no session for a denied client; its datagrams are dropped (and counted) until
    // a session may open.
    if (!admits(r, opts.identities, rinfo.address)) return undefined;
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

  listening.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const key = `${rinfo.address} ${rinfo.port}`;
    let session = sessions.get(key);
    if (session === undefined) {
      if (draining) return;
      session = open(key, rinfo);
      if (session === undefined) return;
      sessions.set(key, session);
    }
    session.fromClient(msg);
  });
  let bound = false;
  // Send errors after start-up (a client's ICMP, EMSGSIZE): logged, never thrown.
  listening.on('error', (err) => {
    if (bound) log.warn({ err: err.message }, 'udp listener error');
  });

  return {
    get route() {
      return route;
    },
    set route(next: L4Route) {
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
      } catch {
        return opts.port;
      }
    },
    listen() {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          listening.removeListener('listening', onListening);
          reject(listenError(`udp listener for ${route.id}`, host, opts.port, err));
        };
        const onListening = (): void => {
          listening.removeListener('error', onError);
          bound = true;
          resolve();
        };
        listening.once('error', onError);
        listening.once('listening', onListening);
        listening.bind({ address: host, port: opts.port });
      });
    },
    close(drainMs: number) {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          sessions.clear();
          try {
            listening.close(() => resolve());
          } catch {
            resolve();
          }
        };
        const deadline = sessions.size === 0 ? undefined : setTimeout(finish, drainMs);
        if (deadline === undefined) finish();
        else drained = finish;
      });
      return closing;
    },
  };
}
