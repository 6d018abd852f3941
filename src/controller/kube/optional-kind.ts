/**
 * A kind served by a CustomResourceDefinition that may not be installed (Gateway API routes,
 * SMI objects): the controller runs without it, says so once (a log line and a diagnostic while
 * it is missing), and picks it up when the CRD appears.
 *
 * Discovery tells whether the resource is served, and in which version. A kind read in one
 * version asks `GET /apis/<group>/<version>`. A kind read in several (SMI: a CRD may serve
 * v1alpha1 to v1alpha4) asks `GET /apis` for the versions its group serves, then
 * `GET /apis/<group>/<version>` for each of those it reads, in its order of preference, and
 * reads the first that lists the resource. Absent: the kind counts as synced and empty, and
 * discovery is asked again every `pollMs`. Present: one informer per namespace
 * (kube/informer.ts) keeps the objects, in the chosen version (the API server hands every
 * object out in the version asked for). A list or watch answered 404 while present (the CRD
 * was deleted, or stopped serving that version) asks discovery again at once: absent again, the
 * cached objects are dropped; served in another version, the kind is read again in that one.
 * Polling discovery needs no permission beyond what every authenticated client has
 * (`system:discovery`), where watching CustomResourceDefinitions would need a cluster-wide grant.
 */
import { ApisApi, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { HostmeshError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { diagnostic } from '../translation/diagnostics.ts';
import type { Diagnostic } from '../translation/diagnostics.ts';
import { kubeFailure } from './errors.ts';
import { Informer } from './informer.ts';
import { backoffDelay } from './loop.ts';
import type { Backoff } from './loop.ts';

/** Which resource: `group`/`plural` in one of `versions`, and its `kind` for messages. */
export interface OptionalKindRef {
  group: string;
  /** The versions read, most preferred (newest) first: the first one the API server serves is read. */
  versions: readonly string[];
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
  /** Why the controller cannot work as configured without the kind: its absence is then an error (and a warning in the log). */
  neededBecause?: string;
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
  readonly #apis: ApisApi;
  #informers: Informer<KubernetesObject>[] = [];
  /** undefined until discovery answered once. */
  #present: boolean | undefined;
  /** The version read while present. */
  #version: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #checking = false;
  #started = false;
  #stopped = false;

  constructor(options: OptionalKindOptions) {
    this.#o = options;
    if (options.versions.length === 0) throw new Error(`optional kind ${options.kind}: no version to read`);
    this.ref = { group: options.group, versions: options.versions, plural: options.plural, kind: options.kind };
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#apis = options.kubeConfig.makeApiClient(ApisApi);
  }

  /** `plural.group`, the CRD's name. */
  get crdName(): string {
    return `${this.ref.plural}.${this.ref.group}`;
  }

  /** Whether the API server serves the kind; undefined before discovery first answered. */
  get present(): boolean | undefined {
    return this.#present;
  }

  /** The version read (the first of `versions` the API server serves); undefined while absent. */
  get version(): string | undefined {
    return this.#version;
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

  /** While absent: one diagnostic saying so (for `/v1/status` and `hostmesh check`), info unless the kind is needed. */
  diagnostics(): Diagnostic[] {
    if (this.#present !== false) return [];
    const needed = this.#o.neededBecause;
    return [diagnostic(needed === undefined ? 'info' : 'error', 'crd-absent', { kind: 'CustomResourceDefinition', name: this.crdName },
      `${this.crdName}: the API server does not serve ${this.#wanted()} ${this.ref.kind} (its CRD is not installed), so ${this.ref.kind} objects are not read; they are picked up once it is installed${needed === undefined ? '' : `. ${needed}`}`)];
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

  /** `group/version`, or `group in any of versions` for a kind read in several. */
  #wanted(): string {
    const { group, versions } = this.ref;
    return versions.length === 1 ? `${group}/${versions[0]!}` : `${group} (in any of ${versions.join(', ')})`;
  }

  async #check(): Promise<void> {
    if (this.#stopped || this.#checking) return;
    this.#checking = true;
    let served: string | undefined;
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
    if (served !== undefined && (this.#present !== true || served !== this.#version)) await this.#appear(served);
    else if (served === undefined && this.#present !== false) await this.#disappear();
    if (served === undefined) this.#schedule(this.#o.pollMs ?? DEFAULT_CRD_POLL_MS);
  }

  /** The first of `versions` whose discovery lists the plural; undefined when none does. */
  async #served(): Promise<string | undefined> {
    const { group, versions } = this.ref;
    let candidates = versions;
    if (versions.length > 1) {
      // One request for the versions the group serves, rather than one 404 per version read.
      const groups = await this.#apis.getAPIVersions();
      const served = new Set(groups.groups.find((g) => g.name === group)?.versions.map((v) => v.version) ?? []);
      candidates = versions.filter((v) => served.has(v));
    }
    for (const version of candidates) if (await this.#lists(version)) return version;
    return undefined;
  }

  /** Whether discovery lists the plural in this group version (404: the group version is not served). */
  async #lists(version: string): Promise<boolean> {
    try {
      const list = await this.#api.getAPIResources({ group: this.ref.group, version });
      return (list.resources ?? []).some((r) => r.name === this.ref.plural);
    } catch (e) {
      if (kubeFailure(e).status === 404) return false;
      throw e;
    }
  }

  async #appear(version: string): Promise<void> {
    const wasAbsent = this.#present === false;
    const previous = this.#present === true ? this.#version : undefined;
    const old = this.#informers;
    this.#present = true;
    this.#version = version;
    const { group, plural } = this.ref;
    const what = this.ref.versions.length === 1 ? `${this.ref.kind} objects` : `${this.ref.kind} objects (${group}/${version})`;
    this.#o.log.info({ crd: this.crdName, version }, previous !== undefined
      ? `${this.crdName} is no longer served in ${previous}; reading ${what}`
      : wasAbsent ? `${this.crdName} is now served; reading ${what}` : `reading ${what}`);
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
    await Promise.all(old.map((i) => i.stop()));
  }

  async #disappear(): Promise<void> {
    const wasPresent = this.#present === true;
    this.#present = false;
    this.#version = undefined;
    const informers = this.#informers;
    this.#informers = [];
    const needed = this.#o.neededBecause === undefined ? '' : ` (${this.#o.neededBecause})`;
    this.#o.log[needed === '' ? 'info' : 'warn']({ crd: this.crdName }, wasPresent
      ? `${this.crdName} is no longer served; ${this.ref.kind} objects are dropped until it is installed again${needed}`
      : `${this.crdName} is not installed; running without ${this.ref.kind} objects and checking again every ${Math.round((this.#o.pollMs ?? DEFAULT_CRD_POLL_MS) / 1000)} s${needed}`);
    this.#o.onChange();
    await Promise.all(informers.map((i) => i.stop()));
  }
}
