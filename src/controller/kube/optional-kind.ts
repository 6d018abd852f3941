/**
 * A kind served by a CustomResourceDefinition that may not be installed (Gateway API routes,
 * SMI objects): the controller runs without it, says so once (a log line and a diagnostic while
 * it is missing), and picks it up when the CRD appears.
 *
 * Discovery (`GET /apis/<group>/<version>`) tells whether the resource is served. Absent: the
 * kind counts as synced and empty, and discovery is asked again every `pollMs`. Present: one
 * informer per namespace (kube/informer.ts) keeps the objects. A list or watch answered 404
 * while present (the CRD was deleted) asks discovery again at once; absent again, the cached
 * objects are dropped. Polling discovery needs no permission beyond what every authenticated
 * client has (`system:discovery`), where watching CustomResourceDefinitions would need a
 * cluster-wide grant.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { HostmeshError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { diagnostic } from '../translation/diagnostics.ts';
import type { Diagnostic } from '../translation/diagnostics.ts';
import { kubeFailure } from './errors.ts';
import { Informer } from './informer.ts';
import { backoffDelay } from './loop.ts';
import type { Backoff } from './loop.ts';

/** Which resource: `group`/`version`/`plural`, and its `kind` for messages. */
export interface OptionalKindRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface OptionalKindOptions extends OptionalKindRef {
  kubeConfig: KubeConfig;
  /** One informer per namespace; `undefined` stands for all namespaces. */
  namespaces: readonly (string | undefined)[];
  backoff: Backoff;
  /** How often discovery is asked again while the kind is absent. Default 30 s. */
  pollMs?: number;
  log: Logger;
  /** After the first view (absent, or present and listed) and after every change, as Informer's. */
  onChange: (changed?: KubernetesObject) => void;
  /** A failed list, watch or discovery request; it is retried. */
  onError?: (error: HostmeshError) => void;
}

export const DEFAULT_CRD_POLL_MS = 30_000;

export class OptionalKind<T> {
  readonly ref: OptionalKindRef;
  readonly #o: OptionalKindOptions;
  readonly #api: CustomObjectsApi;
  #informers: Informer<KubernetesObject>[] = [];
  /** undefined until discovery answered once. */
  #present: boolean | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #checking = false;
  #started = false;
  #stopped = false;

  constructor(options: OptionalKindOptions) {
    this.#o = options;
    this.ref = { group: options.group, version: options.version, plural: options.plural, kind: options.kind };
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** `plural.group`, the CRD's name. */
  get crdName(): string {
    return `${this.ref.plural}.${this.ref.group}`;
  }

  /** Whether the API server serves the kind; undefined before discovery first answered. */
  get present(): boolean | undefined {
    return this.#present;
  }

  /** Absent (known), or present with every informer's first list done. */
  get isSynced(): boolean {
    if (this.#present === false) return true;
    return this.#present === true && this.#informers.every((i) => i.isSynced);
  }

  /** The cached objects (shared: do not modify); empty while absent. */
  list(): T[] {
    return this.#informers.flatMap((i) => i.list()) as T[];
  }

  /** While absent: one info diagnostic saying so (for `/v1/status` and `hostmesh check`). */
  diagnostics(): Diagnostic[] {
    if (this.#present !== false) return [];
    return [diagnostic('info', 'crd-absent', { kind: 'CustomResourceDefinition', name: this.crdName },
      `${this.crdName}: the API server does not serve ${this.ref.group}/${this.ref.version} ${this.ref.kind} (its CRD is not installed), so ${this.ref.kind} objects are not read; they are picked up once it is installed`)];
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#check();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#check(), ms);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    if (this.#stopped || this.#checking) return;
    this.#checking = true;
    let served: boolean;
    try {
      served = await this.#served();
    } catch (e) {
      const f = kubeFailure(e);
      const retryInMs = backoffDelay(this.#o.backoff, this.#failures++);
      this.#o.log.warn({ code: 'K8S_LIST_FAILED', crd: this.crdName, retryInMs }, `asking the API server whether it serves ${this.crdName} failed: ${f.text}`);
      this.#checking = false;
      this.#schedule(retryInMs);
      return;
    }
    this.#checking = false;
    this.#failures = 0;
    if (this.#stopped) return;
    if (served && this.#present !== true) this.#appear();
    else if (!served && this.#present !== false) await this.#disappear();
    if (!served) this.#schedule(this.#o.pollMs ?? DEFAULT_CRD_POLL_MS);
  }

  /** Whether discovery lists the plural in the group version (404: the group version is not served). */
  async #served(): Promise<boolean> {
    try {
      const list = await this.#api.getAPIResources({ group: this.ref.group, version: this.ref.version });
      return (list.resources ?? []).some((r) => r.name === this.ref.plural);
    } catch (e) {
      if (kubeFailure(e).status === 404) return false;
      throw e;
    }
  }

  #appear(): void {
    const wasAbsent = this.#present === false;
    this.#present = true;
    this.#o.log.info({ crd: this.crdName }, wasAbsent ? `${this.crdName} is now served; reading ${this.ref.kind} objects` : `reading ${this.ref.kind} objects`);
    const { group, version, plural } = this.ref;
    this.#informers = this.#o.namespaces.map((namespace) => new Informer<KubernetesObject>({
      kubeConfig: this.#o.kubeConfig,
      path: namespace === undefined ? `/apis/${group}/${version}/${plural}` : `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      what: namespace === undefined ? `${plural} in all namespaces` : `${plural} in namespace ${namespace}`,
      list: () => (namespace === undefined
        ? this.#api.listClusterCustomObject({ group, version, plural })
        : this.#api.listNamespacedCustomObject({ group, version, namespace, plural })) as Promise<KubernetesListObject<KubernetesObject>>,
      backoff: this.#o.backoff,
      log: this.#o.log.child({ resource: plural, namespace }),
      onChange: (changed) => this.#o.onChange(changed),
      onError: (error) => {
        this.#o.onError?.(error);
        // The CRD may have been deleted: ask discovery now rather than retrying a 404 forever.
        if (kubeFailure(error.cause).status === 404) void this.#check();
      },
    }));
    for (const i of this.#informers) i.start();
  }

  async #disappear(): Promise<void> {
    const wasPresent = this.#present === true;
    this.#present = false;
    const informers = this.#informers;
    this.#informers = [];
    this.#o.log.info({ crd: this.crdName }, wasPresent
      ? `${this.crdName} is no longer served; ${this.ref.kind} objects are dropped until it is installed again`
      : `${this.crdName} is not installed; running without ${this.ref.kind} objects and checking again every ${Math.round((this.#o.pollMs ?? DEFAULT_CRD_POLL_MS) / 1000)} s`);
    this.#o.onChange();
    await Promise.all(informers.map((i) => i.stop()));
  }
}
