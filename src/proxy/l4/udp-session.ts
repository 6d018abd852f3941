/**
 * One UDP session: a client address:port bound to one endpoint through its own connected
 * upstream socket. The connected socket lets the kernel filter replies to that endpoint and
 * surface ICMP "port unreachable" as ECONNREFUSED, which feeds passive health.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../../common/log.ts';
import type { EndpointHandle, L4Cluster, L4Connection, L4Observer } from '../types.ts';
import { clientAddress } from '../http/headers.ts';
import type { PortId } from '../../table/index.ts';
import { trackBackendSocket } from '../overload.ts';

/** Datagrams held while the upstream socket connects; more are dropped, as UDP may. */
const MAX_PENDING = 64;

/** Errors that say the endpoint itself cannot be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** What every session of one listener shares. */
export interface SessionContext {
  readonly observer: L4Observer;
  /** The listening socket: replies leave through it so the client sees the address it used. */
  readonly listening: UdpSocket;
  readonly log: Logger;
  /** Called when the session wants to end (idle, unreachable endpoint): the owner forgets it. */
  readonly expire: (session: UdpSession) => void;
}

export class UdpSession implements L4Connection {
  readonly protocol = 'udp';
  readonly start = performance.now();
  /** The client's address, for the observer (`clientAddress` + `clientPort` identify the session). */
  readonly client: string;
  readonly routeId: PortId;
  readonly key: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly cluster: L4Cluster;
  readonly endpoint: EndpointHandle;
  bytesIn = 0;
  bytesOut = 0;
  private readonly ctx: SessionContext;
  private readonly socket: UdpSocket;
  private readonly timer: NodeJS.Timeout;
  private pending: Buffer[] | undefined = [];
  private opened = false;
  private answered = false;
  private closed = false;

  constructor(ctx: SessionContext, routeId: PortId, key: string, client: RemoteInfo, cluster: L4Cluster, endpoint: EndpointHandle, idleMs: number) {
    this.ctx = ctx;
    this.routeId = routeId;
    this.key = key;
    this.clientAddress = client.address;
    this.clientPort = client.port;
    this.client = clientAddress(client.address);
    this.cluster = cluster;
    this.endpoint = endpoint;
    cluster.picker.acquire(endpoint);
    this.timer = setTimeout(() => ctx.expire(this), idleMs).unref();
    this.socket = createSocket({ type: isIPv6(endpoint.address) ? 'udp6' : 'udp4' });
    // One fd per UDP session: counted against the proxy's connection budget (overload.ts).
    trackBackendSocket(this.socket);
    this.socket.on('message', (msg: Buffer) => this.fromUpstream(msg));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
    this.socket.connect(endpoint.port, endpoint.address, (err?: Error) => {
      if (err) this.onError(err as NodeJS.ErrnoException);
      else this.onConnected();
    });
  }

  fromClient(msg: Buffer): void {
    this.bytesIn += msg.length;
    this.timer.refresh();
    if (this.pending === undefined) this.socket.send(msg);
    else if (this.pending.length < MAX_PENDING) this.pending.push(msg);
  }

  /** Idempotent: closes the upstream socket, releases the endpoint, reports the totals. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.pending = undefined;
    try {
      this.socket.close();
    } catch {
      // Already closed by a failed bind or connect.
    }
    this.cluster.picker.release(this.endpoint);
    if (this.opened) this.ctx.observer.connectionClosed(this.routeId, this.cluster.id, this);
  }

  private onConnected(): void {
    if (this.closed) return;
    this.opened = true;
    this.ctx.observer.connectionOpened(this.routeId, this.cluster.id, this);
    const queued = this.pending ?? [];
    this.pending = undefined;
    for (const msg of queued) this.socket.send(msg);
  }

  private fromUpstream(msg: Buffer): void {
    if (this.closed) return;
    if (!this.answered) {
      this.answered = true;
      this.cluster.picker.reportSuccess(this.endpoint);
    }
    this.bytesOut += msg.length;
    this.timer.refresh();
    this.ctx.listening.send(msg, this.clientPort, this.clientAddress);
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    if (err.code !== undefined && UNREACHABLE.has(err.code)) {
      // The next datagram from this client opens a new session, most likely elsewhere.
      this.cluster.picker.reportFailure(this.endpoint);
      this.ctx.observer.connectError(this.routeId, this.cluster.id, err.code === 'ECONNREFUSED' ? 'refused' : 'error');
      this.ctx.expire(this);
      return;
    }
    // EMSGSIZE and friends concern one datagram, not the endpoint: drop it and carry on.
    this.ctx.log.debug({ err: err.message, endpoint: this.endpoint.key }, 'udp upstream error');
  }
}
