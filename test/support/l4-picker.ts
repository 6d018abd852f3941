/**
 * Test-only layer-4 seams: a round-robin EndpointPicker over a fixed list that records what the
 * forwarders tell it, a route with a settable cluster, and an observer that records events.
 * The real pool (balancing, passive health) lives in the proxy engine, not here.
 */
import type { EndpointHandle, EndpointPicker, L4Cluster, L4Connection, L4Observer, L4Route } from '../../src/proxy/types.ts';
import type { PortId } from '../../src/table/index.ts';

export function endpoint(address: string, port: number): EndpointHandle {
  return { address, port, key: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}` };
}

export class RoundRobinPicker implements EndpointPicker {
  readonly endpoints: EndpointHandle[];
  readonly failures = new Map<string, number>();
  readonly successes = new Map<string, number>();
  readonly inFlight = new Map<string, number>();
  /** Endpoints returned by pick(), in order. */
  readonly picked: string[] = [];
  private next = 0;

  constructor(endpoints: EndpointHandle[]) {
    this.endpoints = endpoints;
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(_hint?: unknown, exclude?: ReadonlySet<EndpointHandle>): EndpointHandle | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    for (let i = 0; i < n; i++) {
      const ep = this.endpoints[(this.next + i) % n]!;
      if (exclude?.has(ep)) continue;
      this.next = (this.next + i + 1) % n;
      this.picked.push(ep.key);
      return ep;
    }
    // Everything was tried: the interface says to hand one back anyway.
    const ep = this.endpoints[this.next % n]!;
    this.next = (this.next + 1) % n;
    this.picked.push(ep.key);
    return ep;
  }

  acquire(ep: EndpointHandle): void {
    this.inFlight.set(ep.key, (this.inFlight.get(ep.key) ?? 0) + 1);
  }

  release(ep: EndpointHandle): void {
    const n = (this.inFlight.get(ep.key) ?? 0) - 1;
    if (n < 0) throw new Error(`release without acquire for ${ep.key}`);
    this.inFlight.set(ep.key, n);
  }

  reportFailure(ep: EndpointHandle): void {
    this.failures.set(ep.key, (this.failures.get(ep.key) ?? 0) + 1);
  }

  reportSuccess(ep: EndpointHandle): void {
    this.successes.set(ep.key, (this.successes.get(ep.key) ?? 0) + 1);
  }

  /** Sum of acquires not yet released, over all endpoints. */
  get outstanding(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }
}

export function l4Cluster(id: PortId, picker: EndpointPicker, extra: Partial<Omit<L4Cluster, 'id' | 'picker'>> = {}): L4Cluster {
  return { id, picker, dialTimeoutMs: 2000, readTimeoutMs: undefined, writeTimeoutMs: undefined, ...extra };
}

/** A route that always picks one cluster (or none). */
export function fixedRoute(id: PortId, cluster: L4Cluster | undefined): L4Route {
  return { id, pickCluster: () => cluster };
}

export type L4Event =
  | { kind: 'opened'; route: PortId; cluster: PortId }
  | { kind: 'closed'; route: PortId; cluster: PortId; bytesIn: number; bytesOut: number }
  | { kind: 'error'; route: PortId; cluster: PortId | undefined; reason: string };

export class RecordingObserver implements L4Observer {
  readonly events: L4Event[] = [];
  private waiters: { test: (e: L4Event) => boolean; resolve: (e: L4Event) => void }[] = [];

  connectionOpened(route: PortId, cluster: PortId): void {
    this.push({ kind: 'opened', route, cluster });
  }

  connectionClosed(route: PortId, cluster: PortId, conn: L4Connection): void {
    this.push({ kind: 'closed', route, cluster, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut });
  }

  connectionFailed(): void {}

  connectError(route: PortId, cluster: PortId | undefined, reason: 'no-endpoint' | 'refused' | 'timeout' | 'error'): void {
    this.push({ kind: 'error', route, cluster, reason });
  }

  of<K extends L4Event['kind']>(kind: K): Extract<L4Event, { kind: K }>[] {
    return this.events.filter((e): e is Extract<L4Event, { kind: K }> => e.kind === kind);
  }

  /** Resolves with the first event (already recorded or future) that passes `test`. */
  waitFor(test: (e: L4Event) => boolean): Promise<L4Event> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  private push(e: L4Event): void {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(e)) return true;
      w.resolve(e);
      return false;
    });
  }
}
