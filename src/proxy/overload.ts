/**
 * The overload manager: one budget of connections (file descriptors) for the client
 * connections of all HTTP listeners of an engine and the backend connections the proxy opens,
 * derived from the process's real open-file limit (or set with `--max-connections`), so a
 * flood of connections is shed with a clear answer before the process runs out of file
 * descriptors (which would fail every other client, backends and the control plane included).
 *
 * The budget is what the fd limit leaves after `fdHeadroom` (listeners, the admin and config
 * connections, DNS, logs). Client connections may take at most half of it (every admitted
 * client connection may need a backend connection: its requests are served one at a time), and
 * a new one is admitted only while clients and backend connections together leave room for it
 * and one more backend connection (h2c clients and backends that hold many connections eat into
 * what clients may take).
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface OverloadLimits {
  /** Client plus backend connections open at once (per process; split over workers); 0 derives it from the fd limit. */
  maxConnections: number;
  /** Client connections admitted at once over all listeners; 0 derives it (half the connection budget). */
  maxClientConnections: number;
  /** File descriptors kept free for everything that is not a client or backend connection. */
  fdHeadroom: number;
}

/** The soft limit on open files (`ulimit -n`), or undefined where it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'latin1');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m === null || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/** Budget when neither a limit nor `maxConnections` says (no /proc): generous, but finite. */
const UNKNOWN_FD_BUDGET = 131_072;

/**
 * Client plus backend connections open at once: `maxConnections` when set, else what the fd
 * limit leaves after the headroom; times this engine's share.
 */
export function fdBudget(limits: Pick<OverloadLimits, 'maxConnections' | 'fdHeadroom'>, fdLimit: number | undefined, share = 1): number {
  const whole = limits.maxConnections > 0 ? limits.maxConnections : fdLimit === undefined ? UNKNOWN_FD_BUDGET : fdLimit - limits.fdHeadroom;
  return Math.max(2, Math.floor(whole * share));
}

/** The client connection budget: half the connection budget, or less when configured. */
export function connectionBudget(limits: OverloadLimits, fdLimit: number | undefined, share = 1): number {
  const half = Math.max(1, Math.floor(fdBudget(limits, fdLimit, share) / 2));
  return limits.maxClientConnections > 0 ? Math.min(half, limits.maxClientConnections) : half;
}

/** Backend connections open in this thread (every engine in it dials through the same counter). */
let backendOpen = 0;

function backendClosed(): void {
  backendOpen--;
}

/** A socket of any kind that says when it closes (TCP, or a UDP session's upstream socket). */
export interface ClosingSocket {
  once(event: 'close', listener: () => void): unknown;
}

/** Counts a backend socket against the budget from now until it closes (call as it is created). */
export function trackBackendSocket(socket: ClosingSocket): void {
  backendOpen++;
  socket.once('close', backendClosed);
}

/** Backend connections open now in this thread. */
export function backendConnections(): number {
  return backendOpen;
}

const SHED_BODY = 'hostmesh: the proxy is at its connection limit; retry shortly\n';
const SHED_RESPONSE = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\nx-hostmesh-overload: connections\r\nconnection: close\r\ncontent-length: ${SHED_BODY.length}\r\n\r\n${SHED_BODY}`;

function ignore(): void {}

function destroySocket(s: Socket): void {
  s.destroy();
}

/** Client addresses penalized at once; past it the oldest penalty is forgotten (memory stays bounded). */
const MAX_PENALIZED = 4096;

export class OverloadManager {
  readonly fdLimit: number | undefined;
  /** h2c connections refused because their address was penalized (`penalize`). */
  h2Refused = 0;
  /** Client address -> until when (Date.now() ms) its new h2c connections are refused; oldest first. */
  readonly #penalized = new Map<string, number>();
  /** Client connections admitted at once. */
  readonly maxConnections: number;
  /** Client plus backend connections at once. */
  readonly fdBudget: number;
  open = 0;
  shed = 0;
  /** Its metrics (registered when a registry is given). */
  readonly metrics: readonly (Gauge | Counter)[] = [];

  constructor(limits: OverloadLimits, registry: Registry | undefined, opts: { fdLimit?: number | undefined; share?: number } = {}) {
    this.fdLimit = 'fdLimit' in opts ? opts.fdLimit : openFileLimit();
    this.maxConnections = connectionBudget(limits, this.fdLimit, opts.share ?? 1);
    this.fdBudget = fdBudget(limits, this.fdLimit, opts.share ?? 1);
    if (registry === undefined) return;
    const open: Gauge = new Gauge({ name: 'hostmesh_overload_client_connections', help: 'Client connections open on the proxy\'s HTTP listeners.', registers: [registry], aggregator: 'sum', collect: () => open.set(this.open) });
    const limit: Gauge = new Gauge({ name: 'hostmesh_overload_client_connections_limit', help: 'Client connections the overload manager admits at once (from the open-file limit).', registers: [registry], aggregator: 'sum', collect: () => limit.set(this.maxConnections) });
    const shed: Counter = new Counter({
      name: 'hostmesh_overload_shed_connections_total',
      help: 'Client connections refused at the connection limit (answered 503 and closed).',
      registers: [registry],
      aggregator: 'sum',
      collect: () => {
        shed.reset();
        shed.inc(this.shed);
      },
    });
    const backends: Gauge = new Gauge({ name: 'hostmesh_overload_backend_connections', help: 'Backend connections the proxy has open (counted against the connection budget).', registers: [registry], aggregator: 'sum', collect: () => backends.set(backendOpen) });
    const budget: Gauge = new Gauge({ name: 'hostmesh_overload_connections_limit', help: 'Client plus backend connections the overload manager allows at once (--max-connections, or from the open-file limit).', registers: [registry], aggregator: 'sum', collect: () => budget.set(this.fdBudget) });
    const h2Refused: Counter = new Counter({
      name: 'hostmesh_overload_h2c_refused_connections_total',
      help: 'h2c connections refused (GOAWAY ENHANCE_YOUR_CALM) because a session from the same client address was recently ended for abuse (rapid reset).',
      registers: [registry],
      aggregator: 'sum',
      collect: () => {
        h2Refused.reset();
        h2Refused.inc(this.h2Refused);
      },
    });
    this.metrics = [open, limit, shed, backends, budget, h2Refused];
  }

  /** `address` abused an h2c session: its new h2c connections are refused for `ms`. */
  penalize(address: string | undefined, ms: number): void {
    if (address === undefined || ms <= 0) return;
    this.#penalized.delete(address);
    this.#penalized.set(address, Date.now() + ms);
    if (this.#penalized.size > MAX_PENALIZED) this.#penalized.delete(this.#penalized.keys().next().value!);
  }

  /** True while `address` is penalized (see `penalize`). */
  penalized(address: string | undefined): boolean {
    if (address === undefined || this.#penalized.size === 0) return false;
    const until = this.#penalized.get(address);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#penalized.delete(address);
    return false;
  }

  /**
   * Admits a new client connection, or sheds it: an HTTP/1 503 with `x-hostmesh-overload`
   * and `Retry-After`, then the connection is closed. Admitted ones are released on close.
   * Shed when client connections are at their budget, or when clients and backend connections
   * leave no room for this one and a backend connection it may need.
   */
  admit(socket: Socket): boolean {
    if (this.open >= this.maxConnections || this.open + backendOpen + 2 > this.fdBudget) {
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
