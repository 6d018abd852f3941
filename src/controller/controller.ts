/**
 * The controller in a cluster: watches Services and EndpointSlices (source/kubernetes.ts) and
 * the Services of the mesh namespace (the shadows, and the proxies' DNS Service), translates
 * them into routing tables, keeps one shadow Service per meshed Service, reports problems as
 * Events, and (with `patchDns`) keeps cluster DNS forwarding the mesh zones.
 *
 * Four serial loops (kube/loop.ts), each coalescing its triggers:
 * - translate: cluster state -> table, with the previous translation's memory and port
 *   allocation (at start: the allocation stored on the shadows, so ports never move), then
 *   publish when the table or its diagnostics changed. Never waits on API writes, so endpoint
 *   changes reach the proxies even while the API server refuses or delays writes.
 * - shadows: the shadows the last translation wants vs the mesh namespace -> create, update,
 *   delete; a write that taught something (a new ClusterIP, a re-read after a conflict) triggers
 *   a translation, so mesh DNS answers a new shadow's address as soon as it is known.
 * - events (kube/events.ts) and dns (dns/reconciler.ts).
 * A resync timer (`resyncMs`) re-checks shadows and DNS even when nothing was reported.
 */
import { hostname } from 'node:os';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { HostmeshError } from '../common/errors.ts';
import type { ErrorCode } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { portId } from '../table/index.ts';
import type { ContentChanges, PortId, ServiceId } from '../table/index.ts';
import type { StatusDiagnostic } from '../table/protocol.ts';
import { checkTarget } from './dns/types.ts';
import { EventRecorder, serviceProblems } from './kube/events.ts';
import type { ClusterState, ServiceObject } from './objects.ts';
import { DnsReconciler } from './dns/reconciler.ts';
import { Informer } from './kube/informer.ts';
import { trimService } from './kube/trim.ts';
import { DEFAULT_BACKOFF, SerialLoop } from './kube/loop.ts';
import { BurstWindow } from './kube/burst-window.ts';
import { reuseConnections } from './kube/connections.ts';
import type { BurstWindowOptions } from './kube/burst-window.ts';
import type { Backoff, RunOutcome } from './kube/loop.ts';
import { MeshNamespaceView, writeShadows } from './shadow/reconciler.ts';
import { RouteStatusWriter } from './kube/route-status.ts';
import type { RouteStatusReport } from './translation/gateway/index.ts';
import type { ShadowWriteFailure } from './shadow/reconciler.ts';
import type { WritePacing } from './shadow/pacing.ts';
import { buildShadowService, readShadowState } from './shadow/services.ts';
import type { ShadowDiagnostic, ShadowOptions, ShadowState } from './shadow/services.ts';
import { diffShadowServicesInSlices } from './shadow/diff.ts';
import type { ShadowConflict } from './shadow/diff.ts';
import { KubernetesSource } from './source/kubernetes.ts';
import { QuarantineStore } from './kube/quarantine-store.ts';
import { DEFAULT_IGNORED_NAMESPACES } from './translation/translate.ts';
import { Translator } from './translation/translator.ts';
import type { Diagnostic, TableContent } from './translation/types.ts';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Namespace hostmesh runs in: shadow Services and the DNS Service live here. */
  meshNamespace: string;
  /** Pod labels of the proxy DaemonSet; shadow Services select them. */
  proxySelector: Readonly<Record<string, string>>;
  /** Mesh DNS zones, canonical first. */
  zones: readonly string[];
  /** Inclusive range proxy ports are allocated from. */
  portRange: readonly [number, number];
  /** Mesh only these namespaces (one informer pair each). Default: all. */
  watchNamespaces?: readonly string[];
  /** Never mesh these. Default kube-system, kube-public, kube-node-lease; the mesh namespace always. */
  ignoreNamespaces?: readonly string[];
  /** Keep cluster DNS forwarding the mesh zones to `dnsService`. */
  patchDns: boolean;
  /** ACL mode: every route gets an access policy from the SMI TrafficTargets (docs/smi.md). */
  acl?: boolean;
  /** Name of the proxies' DNS Service in the mesh namespace; required with `patchDns`. */
  dnsService?: string;
  /**
   * Called with every new table (or new diagnostics), in order, never concurrently. `changes`:
   * the entries replaced since the content of the previous call, when translation patched it.
   */
  publish: (content: TableContent, diagnostics: Diagnostic[], changes?: ContentChanges) => void;
  log: Logger;
  /** Re-check shadows and DNS this often even without changes. Default 60 s. */
  resyncMs?: number;
  /** Retries of informers and writes: doubling from minMs to maxMs, jittered. Default 0.5 s to 30 s. */
  backoff?: Backoff;
  /** How long a burst of changes is gathered into one translation. Default 20 ms. */
  coalesceMs?: number;
  /** `reportingInstance` of Events. Default: the host name (the pod's name). */
  instance?: string;
  /** Pacing of shadow Service writes. Default 8 in flight, 200 started per second (DEFAULT_WRITE_PACING). */
  shadowWrites?: WritePacing;
  /** How new shadow ClusterIPs are gathered into translations. Default SHADOW_BATCH. */
  shadowBatch?: BurstWindowOptions;
  /** How often an absent CRD (Gateway API and SMI kinds) is looked for again. Default 30 s. */
  crdPollMs?: number;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DEFAULT_RESYNC_MS = 60_000;
const DEFAULT_COALESCE_MS = 20;
/**
 * How long changes of the mesh namespace (new shadow ClusterIPs) are gathered into one
 * translation: 200 ms for a lone change, doubling while a burst goes on, up to 5 s
 * (kube/burst-window.ts). 10,000 shadows written at 100 a second make about 25 translations.
 */
export const SHADOW_BATCH: BurstWindowOptions = { minMs: 200, maxMs: 5000 };

function badOption(message: string, details: Record<string, unknown>): HostmeshError {
  return new HostmeshError('CONTROLLER_BAD_OPTION', message, details);
}

/** A shadow's ClusterIPs, without the placeholders a headless or pending Service has. */
function clusterIPs(svc: ServiceObject | undefined): string[] {
  const spec = svc?.spec;
  const ips = spec?.clusterIPs ?? (spec?.clusterIP === undefined ? [] : [spec.clusterIP]);
  return ips.filter((ip) => ip !== '' && ip !== 'None');
}

/** Shadows built for a Service object (the informer replaces the object when it changes) and its proxy ports. */
type ShadowCache = WeakMap<ServiceObject, { map: ReadonlyMap<PortId, number>; ports: string; shadow: ServiceObject | undefined }>;

function desiredShadows(services: readonly ServiceObject[], ports: ReadonlyMap<PortId, number>, options: ShadowOptions, cache: ShadowCache): ServiceObject[] {
  const out: ServiceObject[] = [];
  for (const svc of services) {
    let entry = cache.get(svc);
    // Translation hands back the same allocation map while no port moved: nothing to compare.
    if (entry?.map !== ports) {
      const namespace = svc.metadata.namespace ?? 'default';
      const allocated = (svc.spec?.ports ?? []).map((p) => ports.get(portId(namespace, svc.metadata.name, p.port)) ?? '').join(',');
      if (entry?.ports !== allocated) entry = { map: ports, ports: allocated, shadow: buildShadowService(svc, ports, options) };
      else entry = { ...entry, map: ports };
      cache.set(svc, entry);
    }
    if (entry.shadow) out.push(entry.shadow);
  }
  return out;
}

function sameAddresses(a: ReadonlyMap<ServiceId, readonly string[]>, b: ReadonlyMap<ServiceId, readonly string[]>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [id, ips] of a) {
    const other = b.get(id);
    if (!other || other.length !== ips.length || ips.some((ip, i) => other[i] !== ip)) return false;
  }
  return true;
}

/** Whether two tables hold the same entries (the same objects); false negatives only cost a publish the publisher finds unchanged. */
function sameContent(a: TableContent, b: TableContent): boolean {
  const same = <T>(x: readonly T[], y: readonly T[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.dns.ttl === b.dns.ttl && same(a.dns.zones, b.dns.zones) && same(a.dns.services, b.dns.services)
    && same(a.listeners, b.listeners) && same(a.routes, b.routes) && same(a.clusters, b.clusters)
    && same(a.identities ?? [], b.identities ?? []);
}

function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  return a === b || a.length === b.length && a.every((x, i) => x === b[i]);
}

function splitId(id: string): { namespace: string; name: string } {
  const i = id.indexOf('/');
  return { namespace: id.slice(0, i), name: id.slice(i + 1) };
}

export class Controller {
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #source: KubernetesSource;
  readonly #mesh: Informer<ServiceObject>;
  readonly #view: MeshNamespaceView;
  readonly #core: CoreV1Api;
  readonly #translateLoop: SerialLoop;
  readonly #shadowLoop: SerialLoop;
  /** Gateway API route status (kube/route-status.ts), after each translation. */
  readonly #statusLoop: SerialLoop;
  readonly #routeStatus: RouteStatusWriter;
  #routeReports: { state: ClusterState; reports: readonly RouteStatusReport[] } | undefined;
  readonly #events: EventRecorder;
  readonly #dns: DnsReconciler | undefined;
  readonly #translator: Translator;
  /** Keeps the port quarantine across restarts; read once before the first translation. */
  readonly #quarantine: QuarantineStore;
  #quarantineRead = false;
  readonly #shadowOptions: ShadowOptions;
  readonly #firstPublish: Promise<void>;
  #resolveFirst!: () => void;
  #rejectFirst!: (e: Error) => void;
  #sourceSynced = false;
  #started = false;
  #stopped = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #shadowBatch: BurstWindow;

  #desired: ServiceObject[] | undefined;
  /** The shadows wanted and the mesh namespace's version when they last needed no write. */
  #shadowsSettled: { desired: readonly ServiceObject[]; version: number } | undefined;
  readonly #shadowCache: ShadowCache = new WeakMap();
  /** readShadowState of the mesh namespace, as of a version of the view. */
  #shadowsRead: { version: number; state: ShadowState } | undefined;
  /** The content and diagnostics (the list and as JSON) last published. */
  #published: { content: TableContent; diagnostics: string; list: readonly Diagnostic[] } | undefined;
  /** What the last published translation was made from. */
  #translated: { state: ClusterState | undefined; addresses: ReadonlyMap<ServiceId, readonly string[]> } = { state: undefined, addresses: new Map() };
  #translation: Diagnostic[] = [];
  /** What the Events were last synced from. */
  #eventsFrom: { diagnostics: readonly Diagnostic[]; services: readonly ServiceObject[] } | undefined;
  #shadowState: ShadowDiagnostic[] = [];
  #conflicts: ShadowConflict[] = [];
  #writeFailures: ShadowWriteFailure[] = [];
  #dnsAddressesKey = '';

  constructor(options: ControllerOptions) {
    if (!DNS1123_LABEL.test(options.meshNamespace)) {
      throw badOption(`mesh namespace "${options.meshNamespace}" is not a valid namespace name`, { meshNamespace: options.meshNamespace });
    }
    if (Object.keys(options.proxySelector).length === 0) {
      throw badOption('the proxy selector is empty: shadow Services would select no proxy (give the proxy pods\' labels, e.g. app.kubernetes.io/component=proxy)', {});
    }
    const pacing = options.shadowWrites;
    if (pacing !== undefined && (!Number.isInteger(pacing.concurrency) || pacing.concurrency < 1 || !(pacing.perSecond >= 0))) {
      throw badOption(`shadow write pacing needs 1 or more writes in flight and a rate of 0 (not paced) or more, got ${pacing.concurrency} in flight and ${pacing.perSecond} a second`, { ...pacing });
    }
    if (options.patchDns && !options.dnsService) {
      throw badOption('patching cluster DNS needs the name of the proxies\' DNS Service (--dns-service)', {});
    }
    // A bad zone would otherwise only show up as a DNS diagnostic on every check.
    checkTarget('127.0.0.1', options.zones);
    this.#o = options;
    this.#log = options.log;
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
    // Every API client of the controller shares connections (client-node opens one per request).
    const kc = reuseConnections(options.kubeConfig);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#firstPublish = new Promise((resolve, reject) => {
      this.#resolveFirst = resolve;
      this.#rejectFirst = reject;
    });
    this.#firstPublish.catch(() => {});

    this.#translator = new Translator({
      mode: 'cluster',
      portRange: options.portRange,
      zones: options.zones,
      meshNamespace: options.meshNamespace,
      ...(options.acl === true ? { acl: true } : {}),
      ...(options.watchNamespaces && options.watchNamespaces.length > 0 ? { watchNamespaces: options.watchNamespaces } : {}),
      ...(options.ignoreNamespaces ? { ignoreNamespaces: options.ignoreNamespaces } : {}),
    });
    this.#shadowOptions = { meshNamespace: options.meshNamespace, proxySelector: options.proxySelector };
    this.#quarantine = new QuarantineStore(kc, options.meshNamespace, this.#log);

    this.#source = new KubernetesSource({
      kubeConfig: kc,
      ...(options.watchNamespaces ? { watchNamespaces: options.watchNamespaces } : {}),
      // The shadows' own churn must not retranslate the cluster: the mesh namespace is never meshed.
      ignoreNamespaces: [...new Set([...(options.ignoreNamespaces ?? DEFAULT_IGNORED_NAMESPACES), options.meshNamespace])],
      backoff,
      ...(options.crdPollMs === undefined ? {} : { crdPollMs: options.crdPollMs }),
      ...(options.acl === true ? { acl: true } : {}),
      logger: this.#log.child({ component: 'kubernetes-source' }),
    });
    this.#source.on('change', () => this.#translateLoop.trigger());
    void this.#source.synced.then(() => {
      this.#sourceSynced = true;
      this.#translateLoop.trigger();
    }, () => {});

    // The whole mesh namespace, not only the shadows: a Service there that holds a shadow's
    // name is seen (and reported) without a failed create, and the DNS Service's address comes
    // from the same cache.
    const meshNamespace = options.meshNamespace;
    this.#mesh = new Informer<ServiceObject>({
      kubeConfig: kc,
      path: `/api/v1/namespaces/${meshNamespace}/services`,
      what: `services in namespace ${meshNamespace}`,
      list: (page) => this.#core.listNamespacedService({ namespace: meshNamespace, ...page }),
      // Metadata and spec: what the shadow reconciler compares and writes back.
      trim: (obj) => trimService(obj, true),
      onChange: () => this.#meshChanged(),
      backoff,
      log: this.#log,
    });
    this.#view = new MeshNamespaceView(this.#mesh, meshNamespace);

    const loop = (name: string, run: () => Promise<RunOutcome>, paced = false): SerialLoop =>
      new SerialLoop(run, { name, coalesceMs, backoff, log: this.#log, paced, leading: paced });
    // Paced: while thousands of new shadows report their ClusterIPs one by one, translation
    // must not starve the writes that produce them. Leading: a lone change after a quiet spell
    // is translated at once (the source already gathers one turn of the event loop's events).
    this.#translateLoop = loop('translate', () => this.#translate(), true);
    this.#shadowBatch = new BurstWindow(() => this.#translateLoop.trigger(), options.shadowBatch ?? SHADOW_BATCH);
    this.#shadowLoop = loop('shadows', () => this.#reconcileShadows());
    this.#routeStatus = new RouteStatusWriter({ kubeConfig: kc, log: this.#log });
    this.#statusLoop = loop('route-status', () => this.#writeRouteStatus());
    this.#events = new EventRecorder({ core: this.#core, log: this.#log, instance: options.instance ?? hostname(), backoff, coalesceMs });
    const dnsService = options.dnsService;
    this.#dns = options.patchDns && dnsService ? new DnsReconciler({
      kubeConfig: kc,
      zones: options.zones,
      dnsService: { namespace: meshNamespace, name: dnsService },
      addresses: () => clusterIPs(this.#view.get(dnsService)),
      log: this.#log,
      backoff,
      coalesceMs,
    }) : undefined;
  }

  /**
   * Starts watching. Resolves once the first table was published, built from complete lists
   * of the cluster and of the mesh namespace (it waits through API server outages); rejects
   * when stop() comes first.
   */
  start(): Promise<void> {
    if (this.#started) return this.#firstPublish;
    this.#started = true;
    void this.#quarantine.load().then((freed) => {
      this.#translator.restoreQuarantine(freed);
      this.#quarantineRead = true;
      this.#translateLoop.trigger();
    });
    void this.#source.start();
    this.#mesh.start();
    if (this.#dns) {
      const dns = this.#dns;
      // Before the mesh namespace is listed, the DNS Service would look missing.
      void this.#mesh.synced.then(() => { if (!this.#stopped) dns.start(); });
    }
    const resyncMs = this.#o.resyncMs ?? DEFAULT_RESYNC_MS;
    this.#resyncTimer = setInterval(() => this.#resync(), resyncMs);
    this.#resyncTimer.unref();
    return this.#firstPublish;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#resyncTimer);
    this.#shadowBatch.stop();
    this.#rejectFirst(new HostmeshError('CONTROLLER_STOPPED', 'the controller was stopped before it published its first table'));
    await Promise.all([this.#translateLoop.stop(), this.#shadowLoop.stop(), this.#statusLoop.stop(), this.#events.stop(), this.#dns?.stop()]);
    await Promise.all([this.#source.stop(), this.#mesh.stop(), this.#quarantine.idle(2000)]);
  }

  /** Translations run so far (a burst of changes makes one). */
  get translations(): number {
    return this.#translateLoop.runs;
  }

  /** Everything wrong right now, for `/v1/status` and `hostmesh check`. */
  diagnostics(): StatusDiagnostic[] {
    const mesh = this.#o.meshNamespace;
    const out: StatusDiagnostic[] = [];
    for (const d of this.#translation) {
      if (d.severity === 'info') continue;
      out.push({
        severity: d.severity,
        code: d.code,
        object: { ...d.object },
        ...(d.key === undefined ? {} : { key: d.key }),
        ...(d.value === undefined ? {} : { value: d.value }),
        message: d.message,
      });
    }
    // Optional kinds whose CRDs are absent: said once in the log, and here while it lasts.
    for (const d of this.#source.diagnostics()) out.push({ severity: d.severity, code: d.code, object: { ...d.object }, message: d.message });
    for (const d of this.#shadowState) {
      out.push({ severity: 'warning', code: d.code, object: { kind: 'Service', ...splitId(d.service) }, message: d.message });
    }
    for (const c of this.#conflicts) {
      out.push({ severity: 'error', code: 'SHADOW_CONFLICT' satisfies ErrorCode, object: { kind: 'Service', ...splitId(c.service) }, message: c.reason });
    }
    for (const f of this.#writeFailures) {
      out.push({
        severity: 'error',
        code: 'SHADOW_WRITE_FAILED' satisfies ErrorCode,
        object: { kind: 'Service', namespace: f.target.namespace ?? mesh, name: f.target.name ?? '' },
        message: `${f.message}; retrying with backoff`,
      });
    }
    if (this.#dns) out.push(...this.#dns.diagnostics());
    return out;
  }

  #meshChanged(): void {
    this.#view.changed();
    // Shadow changes only bring ClusterIPs for mesh DNS: while thousands of shadows are created,
    // one translation per batch of them, in windows that widen while the burst lasts (a cluster
    // change still translates at once, and reads the shadows as they are then).
    this.#shadowBatch.trigger();
    this.#shadowLoop.trigger();
    const dnsService = this.#o.dnsService;
    if (this.#dns && dnsService) {
      const key = clusterIPs(this.#view.get(dnsService)).join(',');
      if (key !== this.#dnsAddressesKey) {
        this.#dnsAddressesKey = key;
        this.#dns.trigger();
      }
    }
  }

  #resync(): void {
    // Own writes the informer never confirmed stop hiding its view; anything drifted is repaired.
    this.#view.forget();
    this.#shadowsSettled = undefined;
    this.#shadowLoop.trigger();
    this.#dns?.trigger();
  }

  async #translate(): Promise<RunOutcome> {
    if (!this.#sourceSynced || !this.#mesh.isSynced || !this.#quarantineRead) return 'done';
    const state = this.#source.current();
    if (this.#shadowsRead?.version !== this.#view.version) {
      this.#shadowsRead = { version: this.#view.version, state: readShadowState(this.#view.services()) };
    }
    const shadows = this.#shadowsRead.state;
    this.#shadowState = shadows.diagnostics;
    // Most mesh-namespace changes are the controller's own writes; translation reads only the
    // shadows' addresses from there, so it runs again only when they or the cluster changed.
    // (The source keeps one snapshot object until something changes.)
    const translated = this.#translated.state;
    if (state === translated && sameAddresses(shadows.clusterIPs, this.#translated.addresses)) return 'done';
    // What the informers saw change since the last translation lets it patch the last table
    // (an EndpointSlice change costs that Service, not a pass over all of them).
    const changes = translated === undefined || translated === state ? undefined : this.#source.changes(translated, state);
    // The first translation starts from the allocation stored on the shadows.
    const ports = this.#translator.ports;
    const result = this.#translator.translate(state, { shadowAddresses: shadows.clusterIPs }, shadows.allocations, changes);
    // Freed ports are kept where a restarted controller (or the next leader) finds them.
    void this.#quarantine.save(this.#translator.quarantine());
    // The same Service objects and no port moved: the same shadows.
    if (this.#desired === undefined || result.ports !== ports || state.services !== translated?.services) {
      this.#desired = desiredShadows(state.services, result.ports, this.#shadowOptions, this.#shadowCache);
    }
    this.#translation = result.diagnostics;
    this.#shadowLoop.trigger();
    this.#routeReports = { state, reports: result.routeStatus ?? [] };
    this.#statusLoop.trigger();
    // An endpoint change hands back the same diagnostics and Services: no pass over every Service.
    if (this.#eventsFrom?.diagnostics !== result.diagnostics || this.#eventsFrom.services !== state.services) {
      this.#events.sync(serviceProblems(result.diagnostics, state.services));
      this.#eventsFrom = { diagnostics: result.diagnostics, services: state.services };
    }

    // Unchanged Services translate to the same entry objects, so comparing the entries by
    // identity finds an unchanged table without serializing 10,000 Services' worth of JSON.
    const published = this.#published;
    const diagnostics = published?.list === result.diagnostics ? published.diagnostics : JSON.stringify(result.diagnostics);
    // A patched translation says what it replaced since the content it patched.
    const changed = published === undefined || (result.changes !== undefined && result.changes.base === published.content
      ? result.content !== published.content
      : !sameContent(published.content, result.content));
    if (changed || published.diagnostics !== diagnostics) {
      try {
        this.#o.publish(result.content, result.diagnostics, result.changes);
      } catch (e) {
        this.#log.error({ err: e }, 'publishing the routing table failed; retrying');
        return 'retry';
      }
      this.#published = { content: result.content, diagnostics, list: result.diagnostics };
      this.#log.debug({ listeners: result.content.listeners.length, clusters: result.content.clusters.length, diagnostics: result.diagnostics.length, patched: result.changes !== undefined }, 'table published');
    }
    this.#translated = { state, addresses: shadows.clusterIPs };
    this.#resolveFirst();
    return 'done';
  }

  /** Route status as the last translation reports it, written where it differs. */
  #writeRouteStatus(): Promise<RunOutcome> {
    const planned = this.#routeReports;
    if (!planned) return Promise.resolve('done');
    // The newest objects (a conflict is re-planned from what the informer brought since).
    const state = this.#source.current();
    const routes = [
      ...(state.httpRoutes ?? []).map((object) => ({ kind: 'HTTPRoute' as const, object })),
      ...(state.grpcRoutes ?? []).map((object) => ({ kind: 'GRPCRoute' as const, object })),
    ];
    return this.#routeStatus.sync(routes, planned.reports);
  }

  async #reconcileShadows(): Promise<RunOutcome> {
    const desired = this.#desired;
    if (!desired) return 'done';
    // An endpoint change re-translates but wants the same shadows (the same objects, from the
    // cache): while the mesh namespace did not change either, there is nothing to compare
    // (a pass over 10,000 shadows took longer than the translation).
    const settled = this.#shadowsSettled;
    const viewVersion = this.#view.version;
    if (settled !== undefined && settled.version === viewVersion && sameObjects(settled.desired, desired)) return 'done';
    // In slices: the resync compares every shadow, and endpoint changes must not wait for it.
    const diff = await diffShadowServicesInSlices(desired, this.#view.services());
    if (this.#stopped) return 'done';
    const known = new Set(this.#conflicts.map((c) => `${c.service} ${c.reason}`));
    for (const c of diff.conflicts) {
      if (!known.has(`${c.service} ${c.reason}`)) this.#log.error({ code: 'SHADOW_CONFLICT', service: c.service }, c.reason);
    }
    this.#conflicts = diff.conflicts;
    if (diff.create.length + diff.update.length + diff.delete.length === 0) {
      this.#writeFailures = [];
      this.#shadowsSettled = { desired, version: viewVersion };
      return 'done';
    }
    this.#shadowsSettled = undefined;
    const result = await writeShadows(this.#core, this.#o.meshNamespace, diff, this.#view, this.#log, this.#o.shadowWrites);
    this.#writeFailures = result.failures;
    if (result.written > 0) {
      this.#log.info({ created: diff.create.length, updated: diff.update.length, deleted: diff.delete.length, written: result.written, failed: result.failures.length }, 'shadow Services reconciled');
    }
    // New ClusterIPs for mesh DNS; and a re-read after a conflict may change what is wanted.
    if (result.written > 0 || result.again) this.#translateLoop.trigger();
    return result.failures.length > 0 ? 'retry' : result.again ? 'again' : 'done';
  }
}
