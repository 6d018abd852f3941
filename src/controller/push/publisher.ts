/**
 * Turns translated table content into numbered versions for the proxies.
 *
 * Cluster events come in bursts (a rollout touches many EndpointSlices), so `publish()` only
 * records the latest content: a trailing debounce publishes it once the burst is quiet for
 * `coalesceMs`, but never later than `maxDelayMs` after the first unpublished change, so a
 * steady trickle of events cannot starve the proxies. A change while nothing is pending is
 * published on the next turn of the event loop instead, up to `leadingBurst` in a row, one more
 * every `coalesceMs` (push/leading-budget.ts): a lone change, or the Pod and EndpointSlice
 * events of one readiness flip, do not wait out a window meant for bursts, and a burst costs at
 * most that many versions more. Content whose digest equals the current
 * table's makes no version (its diagnostics still replace the current ones).
 *
 * Each version after the first also carries its delta from the previous one (the resources
 * that changed, docs/distribution.md), found by comparing one hash per resource.
 */
import { randomUUID } from 'node:crypto';
import { dnsServiceKey, listenerKey, ResourceTracker, TABLE_FORMAT } from '../../table/index.ts';
import type { ContentChanges, RoutingTable, StatusDiagnostic, TableContent, TableDelta } from '../../table/index.ts';
import { HostmeshError } from '../../common/errors.ts';
import { LeadingBudget } from './leading-budget.ts';
import { VersionHistory } from './history.ts';

export type { TableContent };

export interface Publication {
  readonly table: RoutingTable;
  /** tableDigest(table). */
  readonly digest: string;
  /** Date.now() when this version was published. */
  readonly publishedAt: number;
  /** The changes from the previous version; absent for the first version of the epoch. */
  readonly delta?: TableDelta;
}

export interface PublisherOptions {
  /** Lineage of the versions; a new random one per controller start unless given. */
  epoch?: string;
  /** Quiet time that ends a burst, ms (default 50). 0 publishes on the next tick. */
  coalesceMs?: number;
  /** Longest wait after the first unpublished change, ms (default 250). */
  maxDelayMs?: number;
  /** Publish times remembered for lag reporting (default 10,000 versions). */
  historySize?: number;
  /** Changes in a row published on the next turn before a burst is gathered (default 3; see the file comment). */
  leadingBurst?: number;
}

export type PublishListener = (publication: Publication) => void;

export const DEFAULT_COALESCE_MS = 50;
export const DEFAULT_MAX_DELAY_MS = 250;
export const DEFAULT_LEADING_BURST = 3;

/** One hint for content published over pending content: both hints together, when they follow each other. */
function mergeChanges(pending: { content: TableContent; changes: ContentChanges | undefined }, next: ContentChanges | undefined): ContentChanges | undefined {
  const first = pending.changes;
  if (first === undefined || next === undefined || next.base !== pending.content) return undefined;
  // An entry replaced twice is named once, as it is now.
  const union = <T>(a: readonly T[], b: readonly T[], key: (e: T) => string): T[] => [...new Map([...a, ...b].map((e) => [key(e), e])).values()];
  return {
    base: first.base,
    dnsServices: union(first.dnsServices, next.dnsServices, dnsServiceKey),
    listeners: union(first.listeners, next.listeners, listenerKey),
    routes: union(first.routes, next.routes, (e) => e.id),
    clusters: union(first.clusters, next.clusters, (e) => e.id),
    identities: first.identities || next.identities,
  };
}

export class Publisher {
  readonly epoch: string;
  readonly coalesceMs: number;
  readonly maxDelayMs: number;
  readonly #history: VersionHistory;
  readonly #listeners = new Set<PublishListener>();
  readonly #resources = new ResourceTracker();
  #current: Publication | undefined;
  #diagnostics: readonly StatusDiagnostic[] = [];
  #pending: { content: TableContent; diagnostics: readonly StatusDiagnostic[]; changes: ContentChanges | undefined } | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #leading: LeadingBudget;

  constructor(options: PublisherOptions = {}) {
    const coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
    const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    if (!Number.isFinite(coalesceMs) || coalesceMs < 0) throw new HostmeshError('PUBLISHER_OPTIONS', `publisher: coalesceMs must be >= 0, got ${coalesceMs}`);
    if (!Number.isFinite(maxDelayMs) || maxDelayMs < coalesceMs) {
      throw new HostmeshError('PUBLISHER_OPTIONS', `publisher: maxDelayMs must be >= coalesceMs (${coalesceMs}), got ${maxDelayMs}`);
    }
    if (options.epoch !== undefined && options.epoch.length === 0) throw new HostmeshError('PUBLISHER_OPTIONS', 'publisher: epoch must not be empty');
    this.epoch = options.epoch ?? randomUUID();
    this.coalesceMs = coalesceMs;
    this.maxDelayMs = maxDelayMs;
    this.#history = new VersionHistory(options.historySize ?? 10_000);
    this.#leading = new LeadingBudget(options.leadingBurst ?? DEFAULT_LEADING_BURST, coalesceMs);
  }

  /** The latest published version, or undefined before the first publish. */
  get current(): Publication | undefined {
    return this.#current;
  }

  /** Version of the current table (0 before the first publish). */
  get version(): number {
    return this.#current?.table.version ?? 0;
  }

  /** Diagnostics of the latest content that was flushed (published or not). */
  get diagnostics(): readonly StatusDiagnostic[] {
    return this.#diagnostics;
  }

  /**
   * Publish time of the oldest remembered version newer than `version` in this epoch: when a
   * proxy that applied `version` started to be behind. Undefined when nothing newer exists.
   */
  behindSince(version: number): number | undefined {
    return this.#history.firstAfter(version);
  }

  /** Publish time of one version of this epoch, if still remembered. */
  publishedAt(version: number): number | undefined {
    return this.#history.at(version);
  }

  /**
   * Records the latest content; it is published after the burst settles (see the file comment).
   * The published table shares `content`'s arrays: do not mutate them afterwards. `changes`
   * (the entries replaced since the content published before) spares a pass over the table.
   */
  publish(content: TableContent, diagnostics: readonly StatusDiagnostic[] = [], changes?: ContentChanges): void {
    if (this.#closed) return;
    const pending = this.#pending;
    this.#pending = { content, diagnostics, changes: pending === undefined ? changes : mergeChanges(pending, changes) };
    if (this.#deadlineTimer === undefined) this.#deadlineTimer = setTimeout(this.#onTimer, this.maxDelayMs);
    if (this.#quietTimer !== undefined) this.#quietTimer.refresh();
    else this.#quietTimer = setTimeout(this.#onTimer, this.#leading.take() ? 0 : this.coalesceMs);
  }

  /** Publishes pending content now instead of waiting; returns the current publication. */
  flush(): Publication | undefined {
    this.#clearTimers();
    const pending = this.#pending;
    if (pending === undefined || this.#closed) return this.#current;
    this.#pending = undefined;
    this.#diagnostics = pending.diagnostics;
    const publishedAt = Date.now();
    const { dns, listeners, routes, clusters } = pending.content;
    const { changes, digest } = this.#resources.update(pending.content, pending.changes);
    const previous = this.#current;
    if (previous !== undefined && changes.length === 0) return previous;
    const table: RoutingTable = {
      format: TABLE_FORMAT,
      epoch: this.epoch,
      version: this.version + 1,
      generatedAt: new Date(publishedAt).toISOString(),
      dns,
      listeners,
      routes,
      clusters,
      ...(pending.content.identities !== undefined ? { identities: pending.content.identities } : {}),
    };
    const publication: Publication = previous === undefined
      ? { table, digest, publishedAt }
      : {
        table,
        digest,
        publishedAt,
        delta: { format: TABLE_FORMAT, epoch: this.epoch, base: previous.table.version, version: table.version, generatedAt: table.generatedAt, digest, changes },
      };
    this.#current = publication;
    this.#history.record(table.version, publishedAt);
    for (const listener of this.#listeners) listener(publication);
    return publication;
  }

  /** Calls `listener` for every new version; returns the unsubscribe function. Listeners must not throw. */
  subscribe(listener: PublishListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drops pending content and stops the timers; later publishes are ignored. */
  close(): void {
    this.#closed = true;
    this.#pending = undefined;
    this.#clearTimers();
    this.#listeners.clear();
  }

  readonly #onTimer = (): void => {
    this.flush();
  };

  #clearTimers(): void {
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#deadlineTimer);
    this.#quietTimer = undefined;
    this.#deadlineTimer = undefined;
  }
}
