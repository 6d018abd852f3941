/**
 * One cluster (a port of a Service as a destination) as the proxy runs it: the table entry's
 * settings and the endpoint pool. Long-lived across table applies, so endpoint state and
 * connections survive; forwarders keep a per-endpoint connection pool in `EndpointState.link`.
 *
 * The pool (an EndpointState per endpoint, the balancer) is built on first use: most of a big
 * cluster's Services never see a request on a given node, and until one does there is no
 * endpoint state to keep across applies, only the entry (issue 12: 10,000 Services in 150 MB).
 */
import type { ClusterEntry } from '../table/index.ts';
import { EndpointPool } from './endpoints/pool.ts';
import { endpointKey } from './endpoints/endpoint.ts';
import type { EndpointState } from './endpoints/endpoint.ts';
import type { L4Cluster } from './types.ts';

export interface ClusterOptions<L> {
  affinitySecret: string;
  /** Creates an endpoint's connection pool on first use. */
  createLink: (entry: ClusterEntry, ep: EndpointState<L>) => L;
  /** Closes an endpoint's connection pool once its requests finish. */
  closeLink: (link: L) => void;
  now?: () => number;
}

export interface ClusterUpdate {
  commit(): void;
}

export class ClusterRuntime<L = unknown> implements L4Cluster {
  readonly id: string;
  #pool: EndpointPool<L> | undefined = undefined;
  #entry: ClusterEntry;
  readonly #opts: ClusterOptions<L>;

  constructor(entry: ClusterEntry, opts: ClusterOptions<L>) {
    this.id = entry.id;
    this.#entry = entry;
    this.#opts = opts;
  }

  /** The endpoint pool, built from the current entry on first use. */
  get pool(): EndpointPool<L> {
    return this.#pool ?? this.#createPool();
  }

  /** Whether the pool was built (a request or connection used the cluster). */
  get poolBuilt(): boolean {
    return this.#pool !== undefined;
  }

  /** Distinct endpoints, without building the pool (diagnostics). */
  get endpointCount(): number {
    if (this.#pool !== undefined) return this.#pool.size;
    return new Set(this.#entry.endpoints.map((e) => endpointKey(e.address, e.port))).size;
  }

  get entry(): ClusterEntry {
    return this.#entry;
  }

  get picker(): EndpointPool<L> {
    return this.pool;
  }

  #createPool(): EndpointPool<L> {
    this.#pool = new EndpointPool<L>(this.#entry, {
      affinitySecret: this.#opts.affinitySecret,
      now: this.#opts.now,
      onRemoved: (ep) => this.#dropLink(ep),
    });
    return this.#pool;
  }

  get dialTimeoutMs(): number {
    return this.#entry.dialTimeoutMs;
  }

  /** The cluster's read timeout; none when unset or 0 (HTTP applies its default to unset: http/timeouts.ts). */
  get readTimeoutMs(): number | undefined {
    return this.#entry.readTimeoutMs || undefined;
  }

  get writeTimeoutMs(): number | undefined {
    return this.#entry.writeTimeoutMs || undefined;
  }

  /** The endpoint's connection pool, created on first use. */
  link(ep: EndpointState<L>): L {
    return ep.link ??= this.#opts.createLink(this.#entry, ep);
  }

  /** Computes the change to a new version of this cluster; nothing is visible before commit. */
  plan(entry: ClusterEntry): ClusterUpdate {
    // An unbuilt pool has no state to carry over: the commit only swaps the entry. One built
    // between now and the commit (a request while the apply opens listeners) is planned then.
    const poolUpdate = this.#pool?.plan(entry);
    const prev = this.#entry;
    // Pools dial with the scheme and dial timeout baked in: new settings need new pools.
    const relink = prev.scheme !== entry.scheme || prev.dialTimeoutMs !== entry.dialTimeoutMs;
    return {
      commit: () => {
        this.#entry = entry;
        const pool = this.#pool;
        if (pool === undefined) return;
        (poolUpdate ?? pool.plan(entry)).commit();
        if (relink) for (const ep of pool.endpoints) this.#dropLink(ep);
      },
    };
  }

  /** The cluster left the table: every endpoint's connections close after their requests. */
  close(): void {
    this.#pool?.clear();
  }

  #dropLink(ep: EndpointState<L>): void {
    const link = ep.link;
    ep.link = undefined;
    if (link !== undefined) this.#opts.closeLink(link);
  }
}
