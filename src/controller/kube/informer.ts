/**
 * One informer on one collection, kept running through API server trouble: the Kubernetes
 * source's Services and EndpointSlices, and the controller's mesh-namespace Services and
 * kube-system ConfigMaps and DNS Deployments.
 *
 * client-node's `ListWatch` resumes a watch that ends cleanly and relists after a 410, but stops
 * on any other error (see source/kubernetes.ts for what was found by experiment); this one is
 * restarted after a jittered backoff and keeps its resourceVersion, so nothing is lost. Listed
 * items are turned into plain JSON, like watched ones, so every cached object has one shape.
 */
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { HostmeshError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { backoffDelay } from './loop.ts';
import type { Backoff } from './loop.ts';
import { kubeFailure } from './errors.ts';

export interface InformerOptions {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. `/api/v1/namespaces/hostmesh/services`. */
  path: string;
  /** For logs: `services in namespace hostmesh`. */
  what: string;
  labelSelector?: string;
  /**
   * One page of the collection: `limit` objects at most, from `_continue` on. A list that
   * passes them on is read in pages (as client-go's informers do), so no response holds the
   * whole collection at once; one that ignores them is read in one response.
   */
  list: (page: ListPage) => Promise<KubernetesListObject<KubernetesObject>>;
  /**
   * Applied to every object as it arrives (listed or watched), before the informer stores it:
   * cuts it to what is read (kube/trim.ts). Must return plain JSON (listed objects come as
   * client model classes) and not change its argument.
   */
  trim?: (obj: unknown) => unknown;
  /** Called after the first list (without an object), then after every add, update and delete. */
  onChange: (changed?: KubernetesObject) => void;
  /** A failed list or watch (`K8S_LIST_FAILED`, `K8S_WATCH_FAILED`; details: attempt, retryInMs); it is restarted. */
  onError?: (error: HostmeshError) => void;
  backoff: Backoff;
  log: Logger;
}

export interface ListPage {
  limit: number;
  _continue?: string;
}

/**
 * Objects per list page. At 10,000 Services the whole lists were 10 to 25 MB of JSON each,
 * read at once: their buffers left tens of MB resident in malloc's heap after they were freed.
 */
export const LIST_PAGE = 500;

export class Informer<T> {
  /** Resolves once the first list is stored; never rejects (stop() leaves it pending). */
  readonly synced: Promise<void>;
  readonly #options: InformerOptions;
  readonly #informer: ListWatch<KubernetesObject>;
  readonly #timers = new Set<NodeJS.Timeout>();
  #resolveSynced!: () => void;
  #isSynced = false;
  #failures = 0;
  #started = false;
  #stopped = false;

  constructor(options: InformerOptions) {
    this.#options = options;
    this.synced = new Promise((resolve) => { this.#resolveSynced = resolve; });
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      // The trim makes plain JSON as well (and copies less); each page is cut as it comes.
      const plain = options.trim ?? ((item: unknown) => JSON.parse(JSON.stringify(item)) as unknown);
      const items: KubernetesObject[] = [];
      let first: KubernetesListObject<KubernetesObject> | undefined;
      let next: string | undefined;
      do {
        let page: KubernetesListObject<KubernetesObject>;
        try {
          page = await options.list(next === undefined ? { limit: LIST_PAGE } : { limit: LIST_PAGE, _continue: next });
        } catch (e) {
          // An expired continue token (410) too: the informer lists again from the start.
          throw new HostmeshError('K8S_LIST_FAILED', `listing ${options.what} failed: ${kubeFailure(e).text}`, undefined, { cause: e });
        }
        // Every page is of the first page's resourceVersion: the watch starts from there.
        first ??= page;
        for (const item of page.items) items.push(plain(item) as KubernetesObject);
        // oxlint-disable-next-line no-underscore-dangle -- client-node's name for the list's `continue`
        next = page.metadata?._continue || undefined;
      } while (next !== undefined);
      this.#failures = 0;
      // The informer stores the items right after this promise settles.
      setImmediate(() => this.#listed());
      return { ...first, items };
    };
    const watch = new GuardedWatch(options.kubeConfig, () => this.#stopped, () => { this.#failures = 0; }, options.trim);
    this.#informer = new ListWatch(options.path, watch, list, false, options.labelSelector, undefined, {
      // The informer doubles its delay from 1 s between reconnects that saw no event; follow
      // the same count of doublings on this informer's own (jittered) scale.
      delayFn: (ms) => this.#sleep(backoffDelay(options.backoff, Math.max(0, Math.round(Math.log2(ms / 1000))))),
    });
    const changed = (obj: KubernetesObject): void => {
      if (this.#isSynced) options.onChange(obj);
    };
    this.#informer.on('add', changed);
    this.#informer.on('update', changed);
    this.#informer.on('delete', changed);
    this.#informer.on('error', (err: unknown) => this.#failed(err));
  }

  get isSynced(): boolean {
    return this.#isSynced;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#run();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#informer.stop();
  }

  /** The cached objects (shared: do not modify). */
  list(): T[] {
    return this.#informer.list() as unknown as T[];
  }

  get(name: string, namespace: string): T | undefined {
    return this.#informer.get(name, namespace) as unknown as T | undefined;
  }

  #run(): void {
    if (this.#stopped) return;
    this.#informer.start().catch((e: unknown) => this.#failed(e));
  }

  #failed(err: unknown): void {
    if (this.#stopped) return;
    const retryInMs = backoffDelay(this.#options.backoff, this.#failures++);
    const details = { attempt: this.#failures, retryInMs };
    const error = err instanceof HostmeshError
      ? new HostmeshError(err.code, err.message, details, { cause: err.cause })
      : new HostmeshError('K8S_WATCH_FAILED', `watching ${this.#options.what} failed: ${kubeFailure(err).text}`, details, { cause: err });
    this.#options.log.warn({ code: error.code, ...details }, error.message);
    this.#options.onError?.(error);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#run();
    }, retryInMs);
    this.#timers.add(timer);
  }

  #listed(): void {
    if (this.#isSynced || this.#stopped) return;
    this.#isSynced = true;
    this.#resolveSynced();
    this.#options.onChange();
  }

  /** A reconnect delay of the informer's, cut short by stop(). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }
}

/** A watch that asks for bookmarks, reports liveness (connected or an event), trims objects, and opens nothing once stopped. */
class GuardedWatch extends Watch {
  readonly #stopped: () => boolean;
  readonly #alive: () => void;
  readonly #trim: ((obj: unknown) => unknown) | undefined;

  constructor(kc: KubeConfig, stopped: () => boolean, alive: () => void, trim: ((obj: unknown) => unknown) | undefined) {
    super(kc);
    this.#stopped = stopped;
    this.#alive = alive;
    this.#trim = trim;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.#stopped()) {
      const idle = new AbortController();
      idle.abort();
      return idle;
    }
    let failed = false;
    const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, (phase, obj, watchObj) => {
      if (phase !== 'ERROR') this.#alive();
      const trim = this.#trim;
      callback(phase, trim !== undefined && (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') ? trim(obj) : obj, watchObj);
    }, (err) => {
      if (err) failed = true;
      done(err);
    });
    // Connected: a quiet watch is a healthy one, so the backoff starts over.
    if (!failed) this.#alive();
    return controller;
  }
}
