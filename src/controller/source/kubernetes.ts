/**
 * The cluster as a stream of `ClusterState` snapshots, from `@kubernetes/client-node` informers
 * on Services and EndpointSlices (all namespaces, or one pair per watched namespace).
 *
 * What client-node 2.0's informer (`ListWatch`) does on its own, found by experiment against
 * test/support/fake-apiserver.ts, and what this file adds:
 * - A watch that ends cleanly is resumed from the last resourceVersion; a 410 (an ERROR watch
 *   event with code 410, or an HTTP 410) clears the version and relists, firing `delete` for
 *   objects that disappeared meanwhile; an ERROR event with another code is ignored and the
 *   watch resumed when the stream ends. All of this is left to the informer.
 * - Any other failure (a reset connection, a refused connection, a 5xx, a failed list) is passed
 *   to the `error` callbacks and the informer STOPS. This source restarts it after a jittered
 *   exponential backoff; the informer keeps its resourceVersion, so the restart resumes the
 *   watch (or relists on 410) without losing updates.
 * - `stop()` aborts the watch, which also reaches the `error` callbacks (an AbortError), and a
 *   stop during a reconnect delay would still open a new watch afterwards: the watch used here
 *   refuses to connect once the source is stopped.
 * - Listed objects are deserialized into client model classes (Dates, for instance) while watched
 *   ones are plain JSON; listed items are turned back into plain JSON so every object in a
 *   snapshot has the same shape as a manifest read from YAML.
 * - Watches ask for bookmarks, so a quiet resource's version stays fresh and a reconnect after a
 *   long idle period does not need a relist.
 */
import { EventEmitter } from 'node:events';
import { CoreV1Api, DiscoveryV1Api, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { HostmeshError, errorMessage } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import type { Logger } from '../../common/log.ts';
import type { ClusterState, EndpointSliceObject, ServiceObject } from '../objects.ts';

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig;
  /** Watch only these namespaces (one informer pair each). Absent or empty: all namespaces. */
  watchNamespaces?: readonly string[];
  /** Namespaces whose objects never appear in a snapshot. */
  ignoreNamespaces?: readonly string[];
  /** Delay before restarting a failed informer: doubling from minMs up to maxMs, jittered (50-100%). */
  backoff?: { minMs?: number; maxMs?: number };
  logger?: Logger;
}

export interface KubernetesSourceEvents {
  /** A new snapshot; first emitted once the initial lists are done, then after every change. */
  change: [state: ClusterState];
  /** An informer failed (`K8S_LIST_FAILED`, `K8S_WATCH_FAILED`); it is restarted after `details.retryInMs`. */
  error: [error: HostmeshError];
}

type Kind = 'services' | 'endpointslices';

interface Feed {
  kind: Kind;
  namespace: string | undefined;
  informer: ListWatch<KubernetesObject>;
  listed: boolean;
  /** Consecutive failures, for the backoff; reset by a successful list or watch. */
  failures: number;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body === '' ? undefined : body;
    }
  }
  const message = (parsed as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * The short form of a client error: the HTTP code and the API server's Status message, or the
 * network error with its cause (`fetch failed (connect ECONNREFUSED 10.0.0.1:443)`).
 */
function describe(e: unknown): string {
  const err = e as { code?: unknown; statusCode?: unknown; body?: unknown; cause?: unknown };
  const code = typeof err.code === 'number' ? err.code : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (code !== undefined) {
    const status = statusMessage(err.body);
    return status ? `HTTP ${code}: ${status}` : `HTTP ${code}`;
  }
  return err.cause === undefined ? errorMessage(e) : `${errorMessage(e)} (${errorMessage(err.cause)})`;
}

function byKey(a: KubernetesObject, b: KubernetesObject): number {
  const ka = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
  const kb = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class KubernetesSource {
  /** Resolves once every informer has completed its first list; rejects if stopped before. */
  readonly synced: Promise<void>;
  private readonly emitter = new EventEmitter<KubernetesSourceEvents>();
  private readonly feeds: Feed[] = [];
  private readonly ignore: ReadonlySet<string>;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly log: Logger;
  private readonly timers = new Set<NodeJS.Timeout>();
  private resolveSynced!: () => void;
  private rejectSynced!: (e: Error) => void;
  private isSynced = false;
  private started = false;
  private stopped = false;
  private changePending = false;
  private snapshot: ClusterState | undefined;

  constructor(options: KubernetesSourceOptions) {
    this.log = options.logger ?? createLogger('kubernetes-source');
    this.minMs = options.backoff?.minMs ?? 500;
    this.maxMs = Math.max(this.minMs, options.backoff?.maxMs ?? 30_000);
    const watchNamespaces = [...new Set(options.watchNamespaces ?? [])];
    for (const ns of [...watchNamespaces, ...(options.ignoreNamespaces ?? [])]) {
      if (!DNS1123_LABEL.test(ns)) {
        throw new HostmeshError('K8S_BAD_NAMESPACE', `namespace "${ns}" is not a valid namespace name (a DNS-1123 label)`, { namespace: ns });
      }
    }
    this.ignore = new Set(options.ignoreNamespaces ?? []);
    this.synced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    // Nobody may be waiting on `synced` when stop() rejects it; that must not be an unhandled rejection.
    this.synced.catch(() => {});
    const kc = options.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const namespaces: (string | undefined)[] = watchNamespaces.length > 0 ? watchNamespaces : [undefined];
    for (const namespace of namespaces) {
      this.feeds.push(this.feed(kc, 'services', namespace, () =>
        namespace === undefined ? core.listServiceForAllNamespaces() : core.listNamespacedService({ namespace })));
      this.feeds.push(this.feed(kc, 'endpointslices', namespace, () =>
        namespace === undefined ? discovery.listEndpointSliceForAllNamespaces() : discovery.listNamespacedEndpointSlice({ namespace })));
    }
  }

  on<K extends keyof KubernetesSourceEvents>(event: K, listener: (...args: KubernetesSourceEvents[K]) => void): this {
    this.emitter.on(event, listener as never);
    return this;
  }

  off<K extends keyof KubernetesSourceEvents>(event: K, listener: (...args: KubernetesSourceEvents[K]) => void): this {
    this.emitter.off(event, listener as never);
    return this;
  }

  /** Starts every informer. Returns at once; await `synced` for the initial view. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    for (const feed of this.feeds) this.run(feed);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.isSynced) this.rejectSynced(new HostmeshError('K8S_STOPPED', 'the Kubernetes source was stopped before its initial lists completed'));
    await Promise.all(this.feeds.map((f) => f.informer.stop()));
  }

  /**
   * The latest snapshot: Services and EndpointSlices sorted by namespace/name, ignored
   * namespaces left out. Shared and read-only: callers must not modify it.
   */
  current(): ClusterState {
    if (this.snapshot) return this.snapshot;
    const collect = (kind: Kind): KubernetesObject[] => this.feeds
      .filter((f) => f.kind === kind)
      .flatMap((f) => f.informer.list())
      .filter((o) => o.metadata?.name !== undefined && !this.ignore.has(o.metadata.namespace ?? ''))
      .toSorted(byKey);
    this.snapshot = {
      services: collect('services') as unknown as ServiceObject[],
      endpointSlices: collect('endpointslices') as unknown as EndpointSliceObject[],
    };
    return this.snapshot;
  }

  private feed(kc: KubeConfig, kind: Kind, namespace: string | undefined, list: () => Promise<KubernetesListObject<KubernetesObject>>): Feed {
    const group = kind === 'services' ? '/api/v1' : '/apis/discovery.k8s.io/v1';
    const path = namespace === undefined ? `${group}/${kind}` : `${group}/namespaces/${namespace}/${kind}`;
    const feed = { kind, namespace, listed: false, failures: 0 } as Feed;
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      let result: KubernetesListObject<KubernetesObject>;
      try {
        result = await list();
      } catch (e) {
        throw new HostmeshError('K8S_LIST_FAILED', `listing ${this.where(feed)} failed: ${describe(e)}`, undefined, { cause: e });
      }
      feed.failures = 0;
      // The informer stores the items right after this promise settles; count the feed as
      // listed only once it has.
      setImmediate(() => this.listed(feed));
      return { ...result, items: result.items.map((item) => JSON.parse(JSON.stringify(item)) as KubernetesObject) };
    };
    const hooks: WatchHooks = {
      isStopped: () => this.stopped,
      alive: () => { feed.failures = 0; },
    };
    feed.informer = new ListWatch(path, new SourceWatch(kc, hooks), listFn, false, undefined, undefined, {
      // The informer doubles its delay from 1 s between reconnects that saw no event; follow
      // the same count of doublings on this source's own (jittered) scale.
      delayFn: (ms) => this.sleep(this.backoff(Math.max(0, Math.round(Math.log2(ms / 1000))))),
    });
    const changed = (obj: KubernetesObject): void => {
      if (this.ignore.has(obj.metadata?.namespace ?? '')) return;
      this.snapshot = undefined;
      if (this.isSynced) this.scheduleChange();
    };
    feed.informer.on('add', changed);
    feed.informer.on('update', changed);
    feed.informer.on('delete', changed);
    feed.informer.on('error', (err: unknown) => this.failed(feed, err));
    return feed;
  }

  private where(feed: Feed): string {
    return feed.namespace === undefined ? `${feed.kind} in all namespaces` : `${feed.kind} in namespace ${feed.namespace}`;
  }

  private run(feed: Feed): void {
    if (this.stopped) return;
    feed.informer.start().catch((e: unknown) => this.failed(feed, e));
  }

  private failed(feed: Feed, err: unknown): void {
    if (this.stopped) return;
    const retryInMs = this.backoff(feed.failures++);
    const details = { resource: feed.kind, namespace: feed.namespace, attempt: feed.failures, retryInMs };
    const error = err instanceof HostmeshError
      ? new HostmeshError(err.code, err.message, details, { cause: err.cause })
      : new HostmeshError('K8S_WATCH_FAILED', `watching ${this.where(feed)} failed: ${describe(err)}`, details, { cause: err });
    this.log.warn({ code: error.code, resource: feed.kind, namespace: feed.namespace, retryInMs }, error.message);
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.run(feed);
    }, retryInMs);
    this.timers.add(timer);
  }

  private backoff(failures: number): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(failures, 30));
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  /** The informer's own reconnect delay (after a watch ends cleanly), cut short by stop(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private listed(feed: Feed): void {
    feed.listed = true;
    this.snapshot = undefined;
    if (this.isSynced || this.stopped || !this.feeds.every((f) => f.listed)) return;
    this.isSynced = true;
    this.log.info({ services: this.current().services.length, endpointSlices: this.current().endpointSlices.length }, 'initial lists done');
    this.resolveSynced();
    this.scheduleChange();
  }

  private scheduleChange(): void {
    if (this.changePending) return;
    this.changePending = true;
    // One snapshot per turn of the event loop: a relist or a burst of watch events emits once.
    setImmediate(() => {
      this.changePending = false;
      if (!this.stopped) this.emitter.emit('change', this.current());
    });
  }
}

interface WatchHooks {
  isStopped(): boolean;
  /** The watch connected or delivered an event. */
  alive(): void;
}

/**
 * The informer's watch, with bookmarks requested, liveness reported to the source, and no new
 * connection once the source is stopped.
 */
class SourceWatch extends Watch {
  private readonly hooks: WatchHooks;

  constructor(kc: KubeConfig, hooks: WatchHooks) {
    super(kc);
    this.hooks = hooks;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.hooks.isStopped()) {
      const idle = new AbortController();
      idle.abort();
      return idle;
    }
    let failed = false;
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, obj, watchObj) => {
        if (phase !== 'ERROR') this.hooks.alive();
        callback(phase, obj, watchObj);
      },
      (err) => {
        if (err) failed = true;
        done(err);
      },
    );
    if (!failed) this.hooks.alive();
    return controller;
  }
}
