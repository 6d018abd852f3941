/**
 * The mesh DNS responder: UDP and TCP on one port (when the port is 0 the OS picks one free for
 * both), answering from a DnsConfig swapped atomically through the `config` setter.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { Counter } from 'prom-client';
import { isHostmeshError } from '../../common/errors.js';
import { listenError } from '../l4/listen-error.js';
import { RCODES, respond } from './respond.js';
import { buildZoneIndex } from './zone.js';
/** A TCP connection with no complete query for this long is closed (RFC 7766 asks for seconds). */
export const DEFAULT_TCP_IDLE_MS = 10_000;
/** TCP connections served at once; more are closed on accept. */
export const DEFAULT_MAX_TCP_CONNECTIONS = 1024;
/** With port 0: tries at finding one port free for both UDP and TCP before using two ports. */
const SAME_PORT_ATTEMPTS = 8;
function queriesCounter(registry) {
    const name = 'hostmesh_dns_queries_total';
    const existing = registry.getSingleMetric(name);
    if (existing !== undefined)
        return existing;
    const counter = new Counter({ name, help: 'DNS queries answered by the mesh DNS responder, by response code.', labelNames: ['rcode'], registers: [registry] });
    // Every series exists from the first scrape.
    for (const rcode of RCODES)
        counter.inc({ rcode }, 0);
    return counter;
}
function noop() { }
export function createDnsResponder(opts) {
    const { host } = opts;
    const log = opts.log.child({ component: 'dns' });
    const idleMs = opts.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_MS;
    const counter = opts.registry === undefined ? undefined : queriesCounter(opts.registry);
    let serial = 0;
    const nextSerial = () => {
        // Seconds since the epoch, strictly increasing across swaps (a uint32 for the SOA).
        serial = Math.max(serial + 1, Math.floor(Date.now() / 1000)) >>> 0;
        return serial;
    };
    let config = opts.config;
    let index = buildZoneIndex(config, nextSerial());
    let udp;
    const connections = new Set();
    const answer = (msg, overUdp) => {
        let reply;
        try {
            reply = respond(index, msg, overUdp);
        }
        catch (err) {
            // respond() is written not to throw; if it ever does, one query is lost, not the process.
            log.error({ err: err.message }, 'dns responder bug: query dropped');
            return undefined;
        }
        if (reply !== undefined)
            counter?.inc({ rcode: reply.rcode });
        return reply;
    };
    const onDatagram = (sock) => (msg, rinfo) => {
        const reply = answer(msg, true);
        if (reply !== undefined)
            sock.send(reply.bytes, rinfo.port, rinfo.address);
    };
    const onTcpConnection = (sock) => {
        connections.add(sock);
        sock.on('close', () => connections.delete(sock));
        sock.on('error', noop);
        sock.setNoDelay(true);
        sock.setTimeout(idleMs, () => sock.destroy());
        let pending;
        let paused = false;
        sock.on('data', (chunk) => {
            const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
            let off = 0;
            while (buf.length - off >= 2) {
                const len = buf.readUInt16BE(off);
                if (buf.length - off - 2 < len)
                    break;
                const reply = answer(buf.subarray(off + 2, off + 2 + len), false);
                off += 2 + len;
                if (reply === undefined) {
                    // Not a DNS query (too short, or a response): this stream is not worth reading.
                    sock.destroy();
                    return;
                }
                const framed = Buffer.allocUnsafe(2 + reply.bytes.length);
                framed.writeUInt16BE(reply.bytes.length, 0);
                reply.bytes.copy(framed, 2);
                // A client that pipelines queries but does not read its answers stops being read.
                if (!sock.write(framed) && !paused) {
                    paused = true;
                    sock.pause();
                    sock.once('drain', () => {
                        paused = false;
                        sock.resume();
                    });
                }
            }
            pending = off < buf.length ? buf.subarray(off) : undefined;
        });
    };
    const tcp = createServer(onTcpConnection);
    tcp.maxConnections = opts.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;
    tcp.on('error', (err) => {
        if (tcp.listening)
            log.warn({ err: err.message }, 'dns tcp listener error');
    });
    const bindUdp = (port) => new Promise((resolve, reject) => {
        const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
        const onError = (err) => {
            sock.close();
            reject(listenError('dns responder (udp)', host, port, err));
        };
        sock.once('error', onError);
        sock.bind({ address: host, port }, () => {
            sock.removeListener('error', onError);
            sock.on('error', (err) => log.warn({ err: err.message }, 'dns udp socket error'));
            sock.on('message', onDatagram(sock));
            resolve(sock);
        });
    });
    const listenTcp = (port) => new Promise((resolve, reject) => {
        const onError = (err) => {
            tcp.removeListener('listening', onListening);
            reject(listenError('dns responder (tcp)', host, port, err));
        };
        const onListening = () => {
            tcp.removeListener('error', onError);
            resolve(tcp.address().port);
        };
        tcp.once('error', onError);
        tcp.once('listening', onListening);
        tcp.listen({ host, port });
    });
    const closeUdp = (sock) => new Promise((resolve) => {
        try {
            sock.close(() => resolve());
        }
        catch {
            resolve();
        }
    });
    return {
        get config() {
            return config;
        },
        set config(next) {
            // Built before it is swapped in: a query sees the old index or the new one, never half.
            index = buildZoneIndex(next, nextSerial());
            config = next;
        },
        async listen() {
            /** Binds UDP on `udpPort`, then TCP on `tcpPort` (or the same port); never leaves UDP bound alone. */
            const bindBoth = async (udpPort, tcpPort) => {
                const sock = await bindUdp(udpPort);
                const bound = sock.address().port;
                try {
                    const tcpBound = await listenTcp(tcpPort === 'same' ? bound : tcpPort);
                    udp = sock;
                    return { udpPort: bound, tcpPort: tcpBound };
                }
                catch (err) {
                    await closeUdp(sock);
                    throw err;
                }
            };
            if (opts.port !== 0)
                return bindBoth(opts.port, 'same');
            for (let attempt = 0; attempt < SAME_PORT_ATTEMPTS; attempt++) {
                try {
                    return await bindBoth(0, 'same');
                }
                catch (err) {
                    if (!isHostmeshError(err, 'listen-failed') || err.details?.errno !== 'EADDRINUSE')
                        throw err;
                }
            }
            log.warn('no port free for both UDP and TCP: serving them on different ports');
            return bindBoth(0, 0);
        },
        async close() {
            const closing = [];
            if (udp !== undefined)
                closing.push(closeUdp(udp));
            udp = undefined;
            if (tcp.listening)
                closing.push(new Promise((resolve) => tcp.close(() => resolve())));
            for (const sock of connections)
                sock.destroy();
            await Promise.all(closing);
        },
    };
}
