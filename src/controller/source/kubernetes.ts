/**
 * The cluster as a stream of `ClusterState` snapshots, from `@kubernetes/client-node` informers
 * on Services, EndpointSlices and Pods (all namespaces, or one set per watched namespace), and
 * on the Gateway API kinds (HTTPRoute, GRPCRoute, ReferenceGrant) and the SMI kinds
 * (TrafficSplit, HTTPRouteGroup, TCPRoute, UDPRoute, TrafficTarget) when their CRDs are installed
 * (kube/optional-kind.ts: absent CRDs are reported once and picked up when installed; an SMI
 * kind is read in the newest of its versions that the API server serves).
 *
 * What client-node 2.0's informer (`ListWatch`) does on its own, found by experiment against
 * test/support/fake-apiserver.ts, and what this file adds:
 * - A watch that ends cleanly is resumed from the last resourceVersion; a 410 (an ERROR watch
 *   event with code 410, or an HTTP 410) clears the version and relists, firing `delete` for
 *   objects that disappeared meanwhile; an ERROR event with another code is ignored and the
 *   watch resumed when the stream ends. All of this is left to the informer.
 * - Any other failure (a reset connection, a refused connection, a 5xx, a failed list) is passed
 *   to the `error` callbacks and the informer STOPS. `Informer` (informer.ts) restarts it after a
 *   jittered exponential backoff; it keeps its resourceVersion, so the restart resumes the watch
 *   (or relists on 410) without losing updates.
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
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { HostmeshError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import type { Logger } from '../../common/log.ts';
import type { ClusterChange, ClusterState, EndpointSliceObject, PodChange, PodObject } from '../objects.ts';
import { DEFAULT_BACKOFF } from '../kube/loop.ts';
import type { Backoff } from '../kube/loop.ts';
import { Informer } from '../kube/informer.ts';
import type { ListPage } from '../kube/informer.ts';
import { OptionalKind } from '../kube/optional-kind.ts';
import { stub, trimEndpointSlice, trimPod, trimService } from '../kube/trim.ts';
import type { OptionalKindRef } from '../kube/optional-kind.ts';
import { sortDiagnostics } from '../translation/diagnostics.ts';
import { SMI_VERSIONS } from '../translation/smi/model.ts';
import type { Diagnostic } from '../translation/types.ts';
import type { Source } from './source.ts';

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig;
  /** Watch only these namespaces (one informer pair each). Absent or empty: all namespaces. */
  watchNamespaces?: readonly string[];
  /** Namespaces whose objects never appear in a snapshot. */
  ignoreNamespaces?: readonly string[];
  /** Delay before restarting a failed informer: doubling from minMs up to maxMs, jittered (50-100%). */
  backoff?: { minMs?: number; maxMs?: number };
  /** How often discovery is asked again for an optional kind whose CRD is absent. Default 30 s. */
  crdPollMs?: number;
  /** ACL mode: an absent TrafficTarget CRD is an error (every request is denied without it). */
  acl?: boolean;
  /** Optional kinds read besides OPTIONAL_KINDS (another CRD-backed source, say). */
  optionalKinds?: readonly OptionalSourceKind[];
  logger?: Logger;
}

/** The ClusterState lists that are always read. */
type RequiredField = 'services' | 'endpointSlices' | 'pods';

/** A CRD-backed kind: read when its CRD is installed, into this ClusterState field. */
export interface OptionalSourceKind extends OptionalKindRef {
  field: keyof ClusterState;
}

/** The Gateway API kinds read when their CRDs are installed (docs/gateway-api.md). */
export const GATEWAY_KINDS: readonly OptionalSourceKind[] = [
  { field: 'httpRoutes', group: 'gateway.networking.k8s.io', versions: ['v1'], plural: 'httproutes', kind: 'HTTPRoute' },
  { field: 'grpcRoutes', group: 'gateway.networking.k8s.io', versions: ['v1'], plural: 'grpcroutes', kind: 'GRPCRoute' },
  { field: 'referenceGrants', group: 'gateway.networking.k8s.io', versions: ['v1beta1'], plural: 'referencegrants', kind: 'ReferenceGrant' },
];

/**
 * The SMI kinds (docs/smi.md), all into `smi`: each in the newest version hostmesh reads that
 * the API server serves (objects come in the version asked for, and translation reads each as
 * the version it declares).
 */
export const SMI_KINDS: readonly OptionalSourceKind[] = Object.entries(SMI_VERSIONS)
  .map(([kind, { group, versions, plural }]) => ({ field: 'smi', group, versions: versions.toReversed(), plural, kind }));

/** Every CRD-backed kind the source reads when its CRD is installed. */
export const OPTIONAL_KINDS: readonly OptionalSourceKind[] = [...GATEWAY_KINDS, ...SMI_KINDS];

export interface KubernetesSourceEvents {
  /** A new snapshot; first emitted once the initial lists are done, then after every change. */
  change: [state: ClusterState];
  /** An informer failed (`K8S_LIST_FAILED`, `K8S_WATCH_FAILED`); it is restarted after `details.retryInMs`. */
  error: [error: HostmeshError];
}

interface Feed {
  field: RequiredField;
  namespace: string | undefined;
  informer: Informer<KubernetesObject>;
}

interface OptionalFeed {
  field: keyof ClusterState;
  kind: OptionalKind<KubernetesObject>;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Snapshot changes remembered for changes(): a translation more than this many snapshots behind translates in full. */
const CHANGE_LOG = 32;
const REQUIRED: readonly RequiredField[] = ['services', 'endpointSlices', 'pods'];

/** Where an object of `namespace`/`name` is, or would be inserted, in a list sorted by byKey. */
function position(list: readonly KubernetesObject[], namespace: string, name: string): { index: number; found: boolean } {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = list[mid]!.metadata;
    const ns = m?.namespace ?? '';
    const n = m?.name ?? '';
    const before = ns < namespace || (ns === namespace && n < name);
    if (before) lo = mid + 1;
    else hi = mid;
  }
  const at = list[lo]?.metadata;
  return { index: lo, found: at !== undefined && (at.namespace ?? '') === namespace && at.name === name };
}

/** By namespace, then name (the order translation wants, so it need not sort again); allocates nothing. */
function byKey(a: KubernetesObject, b: KubernetesObject): number {
  const na = a.metadata?.namespace ?? '';
  const nb = b.metadata?.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  const ma = a.metadata?.name ?? '';
  const mb = b.metadata?.name ?? '';
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

export class KubernetesSource implements Source {
  /** Resolves once every informer has completed its first list; rejects if stopped before. */
  readonly synced: Promise<void>;
  private readonly emitter = new EventEmitter<KubernetesSourceEvents>();
  private readonly feeds: Feed[] = [];
  private readonly optional: OptionalFeed[] = [];
  private readonly ignore: ReadonlySet<string>;
  private readonly log: Logger;
  private resolveSynced!: () => void;
  private rejectSynced!: (e: Error) => void;
  private isSynced = false;
  private started = false;
  private stopped = false;
  private changePending = false;
  private snapshot: ClusterState | undefined;
  /** The last snapshot built (kept when `snapshot` is cleared): the base the next one patches. */
  private built: ClusterState | undefined;
  /** Keys (namespace/name) of the objects changed since `built`, per list; `full` when something else changed. */
  private dirty: Record<RequiredField, Set<string>> = { services: new Set(), endpointSlices: new Set(), pods: new Set() };
  private full = true;
  /** Recent snapshots with what changed to the one after (for changes()), oldest first in `recent`. */
  private readonly steps = new Map<ClusterState, { change: ClusterChange; after: ClusterState }>();
  private readonly recent: ClusterState[] = [];

  constructor(options: KubernetesSourceOptions) {
    this.log = options.logger ?? createLogger('kubernetes-source');
    const minMs = options.backoff?.minMs ?? DEFAULT_BACKOFF.minMs;
    const backoff: Backoff = { minMs, maxMs: Math.max(minMs, options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs) };
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
      this.feeds.push(this.feed(kc, backoff, 'services', namespace, (page) =>
        namespace === undefined ? core.listServiceForAllNamespaces(page) : core.listNamespacedService({ namespace, ...page })));
      this.feeds.push(this.feed(kc, backoff, 'endpointSlices', namespace, (page) =>
        namespace === undefined ? discovery.listEndpointSliceForAllNamespaces(page) : discovery.listNamespacedEndpointSlice({ namespace, ...page })));
      // Pods: who runs at which address (the identity map of consumer routes and ACL mode).
      this.feeds.push(this.feed(kc, backoff, 'pods', namespace, (page) =>
        namespace === undefined ? core.listPodForAllNamespaces(page) : core.listNamespacedPod({ namespace, ...page })));
    }
    for (const ref of [...OPTIONAL_KINDS, ...(options.optionalKinds ?? [])]) {
      const kind = new OptionalKind<KubernetesObject>({
        ...ref,
        kubeConfig: kc,
        namespaces,
        backoff,
        ...(options.crdPollMs === undefined ? {} : { pollMs: options.crdPollMs }),
        ...(options.acl === true && ref.kind === 'TrafficTarget' ? { neededBecause: 'ACL mode (--acl) denies every request until TrafficTargets can be read' } : {}),
        log: this.log.child({ resource: ref.plural }),
        onChange: (changed) => this.changed(changed),
        onError: (error) => this.failed(error, ref.plural, undefined),
      });
      this.optional.push({ field: ref.field, kind });
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

  subscribe(listener: () => void): () => void {
    this.emitter.on('change', listener);
    return () => { this.emitter.off('change', listener); };
  }

  /**
   * The API server's objects are not checked here (translation reports what it cannot use);
   * this says which optional kinds are not served (their CRDs are absent).
   */
  diagnostics(): readonly Diagnostic[] {
    return sortDiagnostics(this.optional.flatMap((o) => o.kind.diagnostics()));
  }

  /** Starts every informer. Returns at once; await `synced` for the initial view. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    for (const feed of this.feeds) feed.informer.start();
    for (const o of this.optional) o.kind.start();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.isSynced) this.rejectSynced(new HostmeshError('K8S_STOPPED', 'the Kubernetes source was stopped before its initial lists completed'));
    await Promise.all([...this.feeds.map((f) => f.informer.stop()), ...this.optional.map((o) => o.kind.stop())]);
  }

  /**
   * The latest snapshot: every list sorted by namespace/name, ignored namespaces left out.
   * Shared and read-only: callers must not modify it.
   */
  current(): ClusterState {
    if (this.snapshot) return this.snapshot;
    const base = this.built;
    const patched = base !== undefined && !this.full ? this.patch(base) : undefined;
    this.dirty = { services: new Set(), endpointSlices: new Set(), pods: new Set() };
    this.full = false;
    if (patched !== undefined) {
      this.snapshot = patched.state;
      this.built = patched.state;
      this.remember(patched.change, patched.state);
      return patched.state;
    }
    const keep = (objects: KubernetesObject[]): KubernetesObject[] => objects
      .filter((o) => o.metadata?.name !== undefined && !this.ignore.has(o.metadata.namespace ?? ''))
      .toSorted(byKey);
    const collect = (field: RequiredField): KubernetesObject[] => keep(this.feeds.filter((f) => f.field === field).flatMap((f) => f.informer.list()));
    const state: Record<string, unknown> = {
      services: collect('services'),
      endpointSlices: collect('endpointSlices'),
      pods: collect('pods'),
    };
    // Several kinds may fill one field (every SMI kind goes to `smi`).
    const optional = new Map<keyof ClusterState, KubernetesObject[]>();
    for (const o of this.optional) optional.set(o.field, [...(optional.get(o.field) ?? []), ...o.kind.list()]);
    for (const [field, objects] of optional) state[field] = keep(objects);
    this.snapshot = state as unknown as ClusterState;
    this.built = this.snapshot;
    return this.snapshot;
  }

  /**
   * What changed from snapshot `from` to snapshot `to` (both from current()), when every
   * change between them was one of Services, EndpointSlices or pods and is still remembered;
   * else undefined (compare everything).
   */
  changes(from: ClusterState, to: ClusterState): ClusterChange | undefined {
    const chain: ClusterChange[] = [];
    for (let at = from; at !== to;) {
      const step = this.steps.get(at);
      if (step === undefined || chain.length >= CHANGE_LOG) return undefined;
      chain.push(step.change);
      at = step.after;
    }
    if (chain.length <= 1) return chain[0];
    const pods = chain.some((c) => c.pods);
    return {
      base: from,
      services: new Set(chain.flatMap((c) => [...c.services])),
      endpointSlices: chain.flatMap((c) => c.endpointSlices),
      pods,
      ...(pods && chain.every((c) => !c.pods || c.podChanges !== undefined) ? { podChanges: chain.flatMap((c) => c.podChanges ?? []) } : {}),
    };
  }

  private remember(change: ClusterChange, after: ClusterState): void {
    this.steps.set(change.base, { change, after });
    this.recent.push(change.base);
    if (this.recent.length > CHANGE_LOG) this.steps.delete(this.recent.shift()!);
  }

  /** `base` with the objects changed since replaced, added or removed (the lists stay sorted); undefined when it cannot tell. */
  private patch(base: ClusterState): { state: ClusterState; change: ClusterChange } | undefined {
    const state: Record<string, unknown> = { ...base };
    const services = new Set<string>();
    const endpointSlices: { before?: EndpointSliceObject; after?: EndpointSliceObject }[] = [];
    const pods: PodChange[] = [];
    for (const field of REQUIRED) {
      const keys = this.dirty[field];
      if (keys.size === 0) continue;
      const list = [...(base[field] ?? []) as KubernetesObject[]];
      for (const key of keys) {
        const slash = key.indexOf('/');
        const namespace = key.slice(0, slash);
        const name = key.slice(slash + 1);
        const feed = this.feeds.find((f) => f.field === field && (f.namespace === undefined || f.namespace === namespace));
        if (feed === undefined) return undefined;
        const now = feed.informer.get(name, namespace);
        const { index, found } = position(list, namespace, name);
        const before = found ? list[index] : undefined;
        if (now === before) continue;
        if (now === undefined) list.splice(index, 1);
        else if (found) list[index] = now;
        else list.splice(index, 0, now);
        if (field === 'services') services.add(`${namespace || 'default'}/${name}`);
        else if (field === 'endpointSlices') endpointSlices.push({ ...(before ? { before: before as EndpointSliceObject } : {}), ...(now ? { after: now as EndpointSliceObject } : {}) });
        else pods.push({ ...(before ? { before: before as PodObject } : {}), ...(now ? { after: now as PodObject } : {}) });
      }
      state[field] = list;
    }
    return { state: state as unknown as ClusterState, change: { base, services, endpointSlices, pods: pods.length > 0, ...(pods.length > 0 ? { podChanges: pods } : {}) } };
  }

  private feed(kc: KubeConfig, backoff: Backoff, field: RequiredField, namespace: string | undefined, list: (page: ListPage) => Promise<KubernetesListObject<KubernetesObject>>): Feed {
    const plural = field.toLowerCase();
    const group = field === 'endpointSlices' ? '/apis/discovery.k8s.io/v1' : '/api/v1';
    const path = namespace === undefined ? `${group}/${plural}` : `${group}/namespaces/${namespace}/${plural}`;
    const cut = field === 'services' ? trimService : field === 'endpointSlices' ? trimEndpointSlice : trimPod;
    const informer = new Informer<KubernetesObject>({
      kubeConfig: kc,
      path,
      // Only what translation reads is kept; of an ignored namespace's objects (the shadows in
      // the mesh namespace, for one) only their names.
      trim: (obj) => (this.ignore.has((obj as KubernetesObject | null)?.metadata?.namespace ?? '') ? stub(obj) : cut(obj)),
      what: namespace === undefined ? `${plural} in all namespaces` : `${plural} in namespace ${namespace}`,
      list,
      backoff,
      log: this.log.child({ resource: plural, namespace }),
      onChange: (changed) => this.changed(changed, field),
      onError: (error) => this.failed(error, plural, namespace),
    });
    return { field, namespace, informer };
  }

  private changed(changed: KubernetesObject | undefined, field?: RequiredField): void {
    if (changed !== undefined && this.ignore.has(changed.metadata?.namespace ?? '')) return;
    this.snapshot = undefined;
    // A watch event names its object; a list (or an optional kind) is compared in full.
    const name = changed?.metadata?.name;
    if (field === undefined || name === undefined) this.full = true;
    else this.dirty[field].add(`${changed?.metadata?.namespace ?? ''}/${name}`);
    if (this.isSynced) this.scheduleChange();
    else this.maybeSynced();
  }

  private failed(error: HostmeshError, resource: string, namespace: string | undefined): void {
    if (this.emitter.listenerCount('error') === 0) return;
    this.emitter.emit('error', new HostmeshError(error.code, error.message, { resource, namespace, ...error.details }, { cause: error.cause }));
  }

  private maybeSynced(): void {
    if (this.isSynced || this.stopped || !this.feeds.every((f) => f.informer.isSynced) || !this.optional.every((o) => o.kind.isSynced)) return;
    this.isSynced = true;
    const counts = Object.fromEntries(Object.entries(this.current()).map(([k, v]) => [k, (v as unknown[]).length]));
    this.log.info(counts, 'initial lists done');
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
