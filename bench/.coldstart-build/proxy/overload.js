/**
 * The overload manager: one budget of client connections for all HTTP listeners of an engine,
 * derived from the process's real open-file limit, so a flood of connections is shed with a
 * clear answer before the process runs out of file descriptors (which would fail every other
 * client, backends and the control plane included).
 *
 * Every admitted client connection may hold one backend connection too (requests of a
 * connection are served one at a time), so the connection budget is half of what the fd limit
 * leaves after `fdHeadroom` (listeners, the admin and config connections, DNS, logs).
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge } from 'prom-client';
/** The soft limit on open files (`ulimit -n`), or undefined where it cannot be read. */
export function openFileLimit(limitsText) {
    let text = limitsText;
    if (text === undefined) {
        try {
            text = readFileSync('/proc/self/limits', 'latin1');
        }
        catch {
            return undefined;
        }
    }
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    if (m === null || m[1] === 'unlimited')
        return undefined;
    return Number(m[1]);
}
/** The connection budget for an fd limit: what is left after the headroom, halved. */
export function connectionBudget(limits, fdLimit, share = 1) {
    const fromFds = fdLimit === undefined ? Infinity : Math.max(1, Math.floor(((fdLimit - limits.fdHeadroom) / 2) * share));
    const configured = limits.maxClientConnections > 0 ? limits.maxClientConnections : Infinity;
    const budget = Math.min(fromFds, configured);
    return Number.isFinite(budget) ? budget : 65_536;
}
const SHED_BODY = 'hostmesh: the proxy is at its connection limit; retry shortly\n';
const SHED_RESPONSE = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\nx-hostmesh-overload: connections\r\nconnection: close\r\ncontent-length: ${SHED_BODY.length}\r\n\r\n${SHED_BODY}`;
function ignore() { }
function destroySocket(s) {
    s.destroy();
}
export class OverloadManager {
    fdLimit;
    maxConnections;
    open = 0;
    shed = 0;
    /** Its metrics (registered when a registry is given). */
    metrics = [];
    constructor(limits, registry, opts = {}) {
        this.fdLimit = 'fdLimit' in opts ? opts.fdLimit : openFileLimit();
        this.maxConnections = connectionBudget(limits, this.fdLimit, opts.share ?? 1);
        if (registry === undefined)
            return;
        const open = new Gauge({ name: 'hostmesh_overload_client_connections', help: 'Client connections open on the proxy\'s HTTP listeners.', registers: [registry], aggregator: 'sum', collect: () => open.set(this.open) });
        const limit = new Gauge({ name: 'hostmesh_overload_client_connections_limit', help: 'Client connections the overload manager admits at once (from the open-file limit).', registers: [registry], aggregator: 'sum', collect: () => limit.set(this.maxConnections) });
        const shed = new Counter({
            name: 'hostmesh_overload_shed_connections_total',
            help: 'Client connections refused at the connection limit (answered 503 and closed).',
            registers: [registry],
            aggregator: 'sum',
            collect: () => {
                shed.reset();
                shed.inc(this.shed);
            },
        });
        this.metrics = [open, limit, shed];
    }
    /**
     * Admits a new client connection, or sheds it: an HTTP/1 503 with `x-hostmesh-overload`
     * and `Retry-After`, then the connection is closed. Admitted ones are released on close.
     */
    admit(socket) {
        if (this.open >= this.maxConnections) {
            this.shed++;
            socket.on('error', ignore);
            // Read and drop what the client sends, so closing does not reset the answer away.
            socket.on('data', ignore);
            socket.end(SHED_RESPONSE);
            setTimeout(destroySocket, 1000, socket).unref();
            return false;
        }
        this.open++;
        socket.once('close', () => this.open--);
        return true;
    }
}
