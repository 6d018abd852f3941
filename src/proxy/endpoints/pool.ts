/**
 * The endpoint pool of one cluster: load balancing, in-flight counting and passive health.
 * Forwarders (HTTP, TCP, UDP) only pick, acquire/release and report dial outcomes.
 */
import type { ClusterEntry, LoadBalancer } from '../../table/index.ts';
import type { EndpointHandle, EndpointPicker, PickHint } from '../types.ts';
import type { Balancer } from './balancer.ts';
import { CookieBalancer } from './cookie.ts';
import { EndpointState, endpointKey } from './endpoint.ts';
import { HeaderHashBalancer } from './header-hash.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { RandomBalancer } from './random.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { PickContext } from './select.ts';

export interface PoolOptions<L> {
  /** Secret behind the opaque cookie tokens; proxies that share it agree on cookies. */
  affinitySecret: string;
  /** Monotonic milliseconds; tests inject a fake clock. */
  now?: () => number;
  /** Called once for each endpoint a table update removed (close its connections there). */
  onRemoved?: (ep: EndpointState<L>) => void;
}

/** A computed, not yet visible, change of the pool: applying it cannot fail. */
export interface PoolUpdate {
  commit(): void;
}

function createBalancer(lb: LoadBalancer, eps: readonly EndpointState[]): Balancer {
  switch (lb.kind) {
    case 'round-robin': return new RoundRobinBalancer(eps);
    case 'random': return new RandomBalancer(eps);
    case 'cookie': return new CookieBalancer(eps);
    case 'header': return new HeaderHashBalancer(eps);
    case 'least-request': return new LeastRequestBalancer(eps);
  }
}

export class EndpointPool<L = unknown> implements EndpointPicker {
  readonly clusterId: string;
  readonly #opts: PoolOptions<L>;
  #eps: EndpointState<L>[] = [];
  #byKey = new Map<string, EndpointState<L>>();
  #balancer: Balancer;
  #maxFails: number;
  #failDurationMs: number;
  #lb: LoadBalancer;
  readonly #ctx: PickContext;

  constructor(entry: ClusterEntry, opts: PoolOptions<L>) {
    this.clusterId = entry.id;
    this.#opts = opts;
    const now = opts.now ?? performance.now.bind(performance);
    this.#ctx = { exclude: undefined, now };
    this.#lb = entry.loadBalancer;
    this.#maxFails = entry.passiveHealth.maxFails;
    this.#failDurationMs = entry.passiveHealth.failDurationMs;
    this.#balancer = createBalancer(entry.loadBalancer, []);
    this.plan(entry).commit();
  }

  get size(): number {
    return this.#eps.length;
  }

  get loadBalancer(): LoadBalancer {
    return this.#lb;
  }

  /** Current endpoints, in table order (for diagnostics and tests). */
  get endpoints(): readonly EndpointState<L>[] {
    return this.#eps;
  }

  pick(hint?: PickHint, exclude?: ReadonlySet<EndpointHandle>): EndpointState<L> | undefined {
    const ctx = this.#ctx;
    ctx.exclude = exclude;
    const ep = this.#balancer.pick(hint?.affinity, ctx) as EndpointState<L> | undefined;
    ctx.exclude = undefined;
    return ep;
  }

  acquire(endpoint: EndpointHandle): void {
    (endpoint as EndpointState).inFlight++;
  }

  release(endpoint: EndpointHandle): void {
    const ep = endpoint as EndpointState;
    if (ep.inFlight > 0) ep.inFlight--;
  }

  reportFailure(endpoint: EndpointHandle): void {
    const ep = endpoint as EndpointState;
    if (this.#maxFails === 0) return;
    if (++ep.fails >= this.#maxFails) {
      ep.fails = 0;
      ep.restUntil = this.#ctx.now() + this.#failDurationMs;
    }
  }

  reportSuccess(endpoint: EndpointHandle): void {
    const ep = endpoint as EndpointState;
    ep.fails = 0;
    ep.restUntil = 0;
  }

  /** Whether an endpoint rests now (for diagnostics and tests). */
  isResting(endpoint: EndpointHandle): boolean {
    const ep = endpoint as EndpointState;
    return ep.restUntil !== 0 && ep.restUntil > this.#ctx.now();
  }

  /**
   * Computes the pool for a new version of the cluster without changing anything visible.
   * Endpoints that stay keep their state objects (in-flight counts, health, connections).
   */
  plan(entry: ClusterEntry): PoolUpdate {
    const byKey = new Map<string, EndpointState<L>>();
    const eps: EndpointState<L>[] = [];
    for (const e of entry.endpoints) {
      const key = endpointKey(e.address, e.port);
      if (byKey.has(key)) continue;
      const ep = this.#byKey.get(key) ?? new EndpointState<L>(e.address, e.port, entry.id, this.#opts.affinitySecret);
      byKey.set(key, ep);
      eps.push(ep);
    }
    const removed = this.#eps.filter((ep) => !byKey.has(ep.key));
    const balancer = createBalancer(entry.loadBalancer, eps);
    return {
      commit: () => {
        this.#eps = eps;
        this.#byKey = byKey;
        this.#balancer = balancer;
        this.#lb = entry.loadBalancer;
        this.#maxFails = entry.passiveHealth.maxFails;
        this.#failDurationMs = entry.passiveHealth.failDurationMs;
        // Turning passive health off ends the rests it imposed, not only future ones.
        if (this.#maxFails === 0) for (const ep of eps) ep.fails = ep.restUntil = 0;
        for (const ep of removed) {
          ep.removed = true;
          this.#opts.onRemoved?.(ep);
        }
      },
    };
  }

  /** Drops every endpoint (the cluster left the table). */
  clear(): void {
    const removed = this.#eps;
    this.#eps = [];
    this.#byKey = new Map();
    this.#balancer = createBalancer(this.#lb, []);
    for (const ep of removed) {
      ep.removed = true;
      this.#opts.onRemoved?.(ep);
    }
  }
}
