/**
 * One UDP session: a client address:port bound to one endpoint through its own connected
 * upstream socket. The connected socket lets the kernel filter replies to that endpoint and
 * surface ICMP "port unreachable" as ECONNREFUSED, which feeds passive health.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { clientAddress } from '../http/headers.js';
/** Datagrams held while the upstream socket connects; more are dropped, as UDP may. */
const MAX_PENDING = 64;
/** Errors that say the endpoint itself cannot be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
export class UdpSession {
    protocol = 'udp';
    start = performance.now();
    /** The client's address, for the observer (`clientAddress` + `clientPort` identify the session). */
    client;
    routeId;
    key;
    clientAddress;
    clientPort;
    cluster;
    endpoint;
    bytesIn = 0;
    bytesOut = 0;
    ctx;
    socket;
    timer;
    pending = [];
    opened = false;
    answered = false;
    closed = false;
    constructor(ctx, routeId, key, client, cluster, endpoint, idleMs) {
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
        this.socket.on('message', (msg) => this.fromUpstream(msg));
        this.socket.on('error', (err) => this.onError(err));
        this.socket.connect(endpoint.port, endpoint.address, (err) => {
            if (err)
                this.onError(err);
            else
                this.onConnected();
        });
    }
    fromClient(msg) {
        this.bytesIn += msg.length;
        this.timer.refresh();
        if (this.pending === undefined)
            this.socket.send(msg);
        else if (this.pending.length < MAX_PENDING)
            this.pending.push(msg);
    }
    /** Idempotent: closes the upstream socket, releases the endpoint, reports the totals. */
    close() {
        if (this.closed)
            return;
        this.closed = true;
        clearTimeout(this.timer);
        this.pending = undefined;
        try {
            this.socket.close();
        }
        catch {
            // Already closed by a failed bind or connect.
        }
        this.cluster.picker.release(this.endpoint);
        if (this.opened)
            this.ctx.observer.connectionClosed(this.routeId, this.cluster.id, this);
    }
    onConnected() {
        if (this.closed)
            return;
        this.opened = true;
        this.ctx.observer.connectionOpened(this.routeId, this.cluster.id, this);
        const queued = this.pending ?? [];
        this.pending = undefined;
        for (const msg of queued)
            this.socket.send(msg);
    }
    fromUpstream(msg) {
        if (this.closed)
            return;
        if (!this.answered) {
            this.answered = true;
            this.cluster.picker.reportSuccess(this.endpoint);
        }
        this.bytesOut += msg.length;
        this.timer.refresh();
        this.ctx.listening.send(msg, this.clientPort, this.clientAddress);
    }
    onError(err) {
        if (this.closed)
            return;
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
