/**
 * One cluster (a port of a Service as a destination) as the proxy runs it: the table entry's
 * settings and the endpoint pool. Long-lived across table applies, so endpoint state and
 * connections survive; forwarders keep a per-endpoint connection pool in `EndpointState.link`.
 */
import type { ClusterEntry } from '../table/index.ts';
import { EndpointPool } from './endpoints/pool.ts';
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
  readonly pool: EndpointPool<L>;
  #entry: ClusterEntry;
  readonly #closeLink: (link: L) => void;
  readonly #createLink: (entry: ClusterEntry, ep: EndpointState<L>) => L;

  constructor(entry: ClusterEntry, opts: ClusterOptions<L>) {
    this.id = entry.id;
    this.#entry = entry;
    this.#closeLink = opts.closeLink;
    this.#createLink = opts.createLink;
    this.pool = new EndpointPool<L>(entry, {
      affinitySecret: opts.affinitySecret,
      now: opts.now,
      onRemoved: (ep) => this.#dropLink(ep),
    });
  }

  get entry(): ClusterEntry {
    return this.#entry;
  }

  get picker(): EndpointPool<L> {
    return this.pool;
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
    return ep.link ??= this.#createLink(this.#entry, ep);
  }

  /** Computes the change to a new version of this cluster; nothing is visible before commit. */
  plan(entry: ClusterEntry): ClusterUpdate {
    const poolUpdate = this.pool.plan(entry);
    const prev = this.#entry;
    // Pools dial with the scheme and dial timeout baked in: new settings need new pools.
    const relink = prev.scheme !== entry.scheme || prev.dialTimeoutMs !== entry.dialTimeoutMs;
    return {
      commit: () => {
        this.#entry = entry;
        poolUpdate.commit();
        if (relink) for (const ep of this.pool.endpoints) this.#dropLink(ep);
      },
    };
  }

  /** The cluster left the table: every endpoint's connections close after their requests. */
  close(): void {
    this.pool.clear();
  }

  #dropLink(ep: EndpointState<L>): void {
    const link = ep.link;
    ep.link = undefined;
    if (link !== undefined) this.#closeLink(link);
  }
}
