/**
 * The node proxy engine: applies routing tables and runs their listeners.
 *
 * `apply(table)` validates, builds every runtime object (clusters, routes, stages, listeners)
 * without touching what serves traffic, opens the new listeners, and only then commits in one
 * synchronous step: endpoint pools reconciled, routes swapped on kept listeners (a request in
 * flight finishes on the route it started with), metrics series updated, removed listeners
 * drained. If validation, building or opening fails nothing changes and the error is returned.
 * An engine keeps no module-level state: several can run in one process.
 */
import { errorMessage, HostmeshError } from '../common/errors.ts';
import { createLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { applyTableDelta, clusterBackends, describeRuleMatch, DELTA_GAP, formatProblems, ROUTE_POLICIES, serviceOfCluster, tableDigest, validateTable } from '../table/index.ts';
import type { ClusterEntry, DeltaTouched, RouteEntry, RoutingTable, TableProblem, TrafficType } from '../table/index.ts';
import type { Registry } from 'prom-client';
import { AccessLog } from './access-log.ts';
import type { AccessLogSink } from './access-log.ts';
import { FdSink } from './access-log-writer.ts';
import { ClusterRuntime } from './cluster.ts';
import type { ClusterOptions, ClusterUpdate } from './cluster.ts';
import { HttpListener } from './http/listener.ts';
import { IdentityMap } from './identity.ts';
import { buildHttpRoute } from './http/route.ts';
import type { HttpRoute } from './http/exchange.ts';
import { closeUpstream, createUpstream } from './http/upstream.ts';
import type { Upstream } from './http/upstream.ts';
import { buildL4Route } from './l4-listeners.ts';
import type { L4Factories, L4Listener } from './l4-listeners.ts';
import { createTcpListener } from './l4/tcp.ts';
import { createUdpListener } from './l4/udp.ts';
import { jsonEqual } from './json-equal.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { OverloadManager } from './overload.ts';
import type { ProxyLimits } from './limits.ts';
import { ProxyMetrics } from './metrics.ts';
import { sampleLive } from './live/counts.ts';
import type { LiveSample } from './live/counts.ts';
import { TapRegistry } from './live/tap.ts';
import type { TapSubscription } from '../table/live.ts';
import { LocalZones } from './ratelimit/zones.ts';
import type { RateLimitZones } from './ratelimit/zones.ts';
import type { ConnectionStats, RouteStatsPlan } from './metrics.ts';
import type { L4Connection, L4Observer, L4Route } from './types.ts';
import { startTracing } from './tracing/index.ts';
import type { Tracing, TracingOptions } from './tracing/index.ts';

const DEFAULT_L4: L4Factories = { tcp: createTcpListener, udp: createUdpListener };

export interface ProxyEngineOptions {
  /** Address listeners bind to. Default 127.0.0.1 (a cluster deployment binds the pod IP or 0.0.0.0). */
  host?: string;
  /** SO_REUSEPORT on every listener, so several engines (workers) can share the ports. */
  reusePort?: boolean;
  limits?: Partial<ProxyLimits>;
  log?: Logger;
  /** Where metrics go; a new Registry per engine by default. */
  registry?: Registry;
  /** Export Node process metrics too (default true). */
  processMetrics?: boolean;
  /**
   * TCP and UDP listener factories; default the real ones in src/proxy/l4/. Given explicitly, a
   * protocol without a factory is skipped with a warning (tests plug in small forwarders).
   */
  l4?: L4Factories;
  /** Secret behind the affinity and sticky cookie values; proxies that should agree share it. */
  affinitySecret?: string;
  /** JSON access log: `true` writes to stdout, a sink (any `write(chunk)`) receives the lines. Off by default. */
  accessLog?: boolean | AccessLogSink;
  /** Where rate-limit buckets live; default one LRU Map per zone in this thread. */
  rateLimits?: RateLimitZones;
  /** OTLP span export of sampled HTTP requests; off when absent. */
  tracing?: TracingOptions | undefined;
}

export interface AppliedTable {
  table: RoutingTable;
  digest: string;
  /** Unix milliseconds of the apply that made this table current. */
  appliedAt: number;
}

export type ApplyResult =
  | { ok: true; epoch: string; version: number; digest: string; changed: boolean; opened: number[]; closed: number[]; warnings: string[] }
  | { ok: false; epoch: string | undefined; version: number | undefined; error: { code: string; message: string; problems?: TableProblem[]; port?: number } };

/** One line of `GET /v1/routes`. */
export interface RouteSummary {
  route: string;
  protocol: TrafficType;
  listen: string;
  backends: { cluster: string; weight: number; endpoints: number }[];
  endpoints: number;
  /** Expression splits, in order (absent when the route has none): the first match wins. */
  rules?: { match: string; backends: { cluster: string; weight: number }[] }[];
}

type AnyListener = { kind: 'http'; protocol: 'http'; port: number; l: HttpListener } | { kind: 'l4'; protocol: 'tcp' | 'udp'; port: number; l: L4Listener };

type Cluster = ClusterRuntime<Upstream>;

/**
 * An HTTP route as the engine keeps it. Plain routes (see `buildsLazily`) are built on their
 * first request, the others when the table is applied; either way once, over the cluster
 * objects it was planned with. `live` while it is in the committed table: a route built then
 * shows its counters (a retired one still serves requests in flight on a draining listener).
 */
class HttpRouteSlot {
  readonly entry: RouteEntry;
  /** Every cluster the entry names (backends, rules, mirrors), as resolved when planned. */
  readonly clusters: readonly Cluster[];
  live = false;
  #built: { route: HttpRoute; stats: RouteStatsPlan } | undefined = undefined;
  readonly #build: (slot: HttpRouteSlot) => { route: HttpRoute; stats: RouteStatsPlan };
  /** The route, built on first call: what a listener calls on its first request. */
  readonly resolve = (): HttpRoute => (this.#built ??= this.#build(this)).route;

  constructor(entry: RouteEntry, clusters: readonly Cluster[], build: (slot: HttpRouteSlot) => { route: HttpRoute; stats: RouteStatsPlan }) {
    this.entry = entry;
    this.clusters = clusters;
    this.#build = build;
  }

  get built(): { route: HttpRoute; stats: RouteStatsPlan } | undefined {
    return this.#built;
  }

  /** Whether it was planned over exactly these cluster objects. */
  uses(clusters: ReadonlyMap<string, Cluster>): boolean {
    return this.clusters.every((c) => clusters.get(c.id) === c);
  }
}

interface BuiltL4 {
  route: L4Route;
  entry: RouteEntry;
  /** The cluster objects it was built over. */
  clusters: Cluster[];
  stats: RouteStatsPlan;
}

/** Everything `apply` built before committing. */
interface Build {
  table: RoutingTable;
  digest: string;
  clusters: Map<string, Cluster>;
  clusterUpdates: ClusterUpdate[];
  removedClusters: Cluster[];
  httpRoutes: Map<string, HttpRouteSlot>;
  l4Routes: Map<string, BuiltL4>;
  /** Final listener set by port, new ones not yet listening. */
  listeners: Map<number, AnyListener>;
  opened: AnyListener[];
  removed: AnyListener[];
  /** Removed listeners whose port a new listener takes: drained before opening it. */
  releasedEarly: Set<AnyListener>;
  warnings: string[];
  /** Installs the table's identity map; undefined when it is unchanged. */
  identities: (() => void) | undefined;
}

export class ProxyEngine {
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
  readonly limits: Readonly<ProxyLimits>;
  readonly #host: string;
  readonly #opts: ProxyEngineOptions;
  readonly #observer: L4Observer;
  readonly #accessLog: AccessLog | undefined;
  readonly #rateLimits: RateLimitZones;
  /** The client connection budget of all HTTP listeners. */
  readonly overload: OverloadManager;
  readonly #taps = new TapRegistry();
  /**
   * Source address -> client identity (the table's identity map), for client-scoped rules and
   * the L4 listeners; the same object for the engine's life, its contents swapped at commit.
   */
  readonly identities = new IdentityMap();
  readonly #tracing: Tracing | undefined;
  #clusters = new Map<string, Cluster>();
  #listeners = new Map<number, AnyListener>();
  /** The committed HTTP routes (built or not yet), reused when an apply leaves them unchanged. */
  #httpRoutes = new Map<string, HttpRouteSlot>();
  #l4Routes = new Map<string, BuiltL4>();
  #current: AppliedTable | undefined = undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #draining = new Set<Promise<void>>();
  #closed = false;
  /** A refused apply released a port early: the current table is no longer fully served. */
  #portsLost = false;

  constructor(opts: ProxyEngineOptions = {}) {
    this.#opts = opts;
    this.#host = opts.host ?? '127.0.0.1';
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.log ?? createLogger('hostmesh-proxy');
    this.metrics = new ProxyMetrics(opts.registry, { processMetrics: opts.processMetrics ?? true });
    this.#accessLog = this.#createAccessLog(opts.accessLog);
    if (this.#accessLog !== undefined) this.#accessLog.identify = (client) => this.identities.identify(client);
    this.#observer = this.#createObserver();
    this.#rateLimits = opts.rateLimits ?? new LocalZones('lru');
    this.overload = new OverloadManager(this.limits, this.metrics.registry, { share: this.limits.connectionShare });
    if (this.overload.fdLimit !== undefined) this.log.debug({ fdLimit: this.overload.fdLimit, maxClientConnections: this.overload.maxConnections }, 'connection budget');
    this.#tracing = opts.tracing === undefined ? undefined : startTracing(opts.tracing, this.metrics.registry, (message) => this.log.warn(message));
  }

  get registry(): Registry {
    return this.metrics.registry;
  }

  /** The table serving now, with its digest and apply time; undefined before the first apply. */
  get current(): AppliedTable | undefined {
    return this.#current;
  }

  get ready(): boolean {
    return this.#current !== undefined;
  }

  get host(): string {
    return this.#host;
  }

  /** Applies a table (untrusted input: it is validated). Applies run one at a time, in call order. */
  apply(input: unknown): Promise<ApplyResult> {
    const run = this.#queue.then(() => this.#apply(input));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Applies a delta (untrusted input) on top of the table served: only the resources it
   * changes are validated and rebuilt; everything else keeps its objects. Refused with code
   * DELTA_GAP when it does not follow the table served (the caller then needs a snapshot).
   */
  applyDelta(input: unknown): Promise<ApplyResult> {
    const run = this.#queue.then(() => this.#applyDelta(input));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Drains every listener and closes every backend connection. */
  close(): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#closed) return;
      this.#closed = true;
      const drains = [...this.#listeners.values()].map((l) => l.l.close(this.limits.drainTimeoutMs));
      this.#listeners = new Map();
      this.#httpRoutes = new Map();
      this.#l4Routes = new Map();
      // Backends close after the drain: requests still arriving on open client connections
      // (answered with Connection: close) need them.
      await Promise.all([...drains, ...this.#draining]);
      for (const c of this.#clusters.values()) c.close();
      this.#clusters = new Map();
      await Promise.all([this.#accessLog?.close(), this.#tracing?.exporter.close()]);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Live stats and tap (src/proxy/live): installs `taps`, returns counts and tap events since the last call. */
  live(taps: readonly TapSubscription[]): Promise<LiveSample> {
    return Promise.resolve(sampleLive(this.metrics, this.#taps, taps));
  }

  /**
   * The built objects behind a route (its HTTP or L4 route and its clusters' runtimes), for
   * diagnostics and for tests that check an apply reused them. Builds an HTTP route not built
   * yet (see `routeBuilt`).
   */
  built(routeId: string): { route: object; clusters: object[] } | undefined {
    const http = this.#httpRoutes.get(routeId);
    if (http !== undefined) {
      const route = http.resolve();
      return { route, clusters: route.backends.map((b) => b.cluster) };
    }
    const l4 = this.#l4Routes.get(routeId);
    return l4 === undefined ? undefined : { route: l4.route, clusters: l4.clusters };
  }

  /** Whether a route of the applied table is built (plain HTTP routes wait for their first request). */
  routeBuilt(routeId: string): boolean {
    return this.#l4Routes.has(routeId) || this.#httpRoutes.get(routeId)?.built !== undefined;
  }

  /** The routes served, one per open listener, for `GET /v1/routes` and banners. */
  routes(): RouteSummary[] {
    const t = this.#current?.table;
    if (t === undefined) return [];
    const routes = new Map(t.routes.map((r) => [r.id, r]));
    const hostForUrl = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return t.listeners.toSorted((a, b) => a.port - b.port).flatMap((l) => {
      const r = routes.get(l.route);
      if (r === undefined || !this.#listeners.has(l.port)) return [];
      const backends = r.backends.map((b) => ({ cluster: b.cluster, weight: b.weight, endpoints: this.#clusters.get(b.cluster)?.endpointCount ?? 0 }));
      const summary: RouteSummary = { route: r.id, protocol: l.protocol, listen: `${hostForUrl}:${l.port}`, backends, endpoints: backends.reduce((n, b) => n + b.endpoints, 0) };
      if (r.rules.length > 0) summary.rules = r.rules.map((rule) => ({ match: describeRuleMatch(rule), backends: clusterBackends(rule).map((b) => ({ cluster: b.cluster, weight: b.weight })) }));
      return [summary];
    });
  }

  async #apply(input: unknown): Promise<ApplyResult> {
    const raw = input as { epoch?: unknown; version?: unknown } | null;
    const ids = { epoch: typeof raw?.epoch === 'string' ? raw.epoch : undefined, version: typeof raw?.version === 'number' ? raw.version : undefined };
    if (this.#closed) return fail(ids, new HostmeshError('PROXY_CLOSED', 'the proxy engine is closed'));
    const v = validateTable(input);
    if (!v.ok) return fail(ids, new HostmeshError('TABLE_INVALID', `routing table refused: ${formatProblems(v.problems)}`, { problems: v.problems }));
    return this.#applyTable(v.table, tableDigest(v.table), undefined, ids);
  }

  async #applyDelta(input: unknown): Promise<ApplyResult> {
    const raw = input as { epoch?: unknown; version?: unknown } | null;
    const ids = { epoch: typeof raw?.epoch === 'string' ? raw.epoch : undefined, version: typeof raw?.version === 'number' ? raw.version : undefined };
    if (this.#closed) return fail(ids, new HostmeshError('PROXY_CLOSED', 'the proxy engine is closed'));
    const current = this.#current;
    if (current === undefined) return fail(ids, new HostmeshError(DELTA_GAP, 'a delta arrived before any table was applied'));
    const d = applyTableDelta(current.table, current.digest, input);
    if (!d.ok) return fail(ids, new HostmeshError(d.gap ? DELTA_GAP : 'TABLE_INVALID', `delta refused: ${formatProblems(d.problems)}`, { problems: d.problems }));
    return this.#applyTable(d.table, d.digest, d.touched, ids);
  }

  async #applyTable(table: RoutingTable, digest: string, touched: DeltaTouched | undefined, ids: { epoch: string | undefined; version: number | undefined }): Promise<ApplyResult> {
    const appliedAt = Date.now();
    if (this.#current !== undefined && this.#current.digest === digest && !this.#portsLost) {
      this.#current = { table, digest, appliedAt };
      this.metrics.configApplied(table.version, appliedAt);
      return { ok: true, epoch: table.epoch, version: table.version, digest, changed: false, opened: [], closed: [], warnings: [] };
    }

    let build: Build;
    try {
      build = this.#build(table, digest, touched);
    } catch (err) {
      return fail(ids, err instanceof HostmeshError ? err : new HostmeshError('PROXY_BUILD_FAILED', `routing table ${table.epoch}/${table.version} could not be built: ${errorMessage(err)}`));
    }

    // A port whose protocol changes must be released before its new listener can open: the
    // one thing touched before commit (documented: such a change is not atomic).
    for (const old of build.removed) {
      if (build.listeners.has(old.port)) {
        build.releasedEarly.add(old);
        this.#listeners.delete(old.port);
        this.#drain(old);
      }
    }
    const opened: AnyListener[] = [];
    for (const l of build.opened) {
      try {
        await l.l.listen();
        opened.push(l);
      } catch (err) {
        for (const o of opened) void o.l.close(0);
        for (const c of build.clusters.values()) if (!this.#clusters.has(c.id)) c.close();
        const port = l.port;
        if (build.releasedEarly.size > 0) this.#portsLost = true;
        return fail(ids, new HostmeshError('LISTENER_OPEN_FAILED', `cannot listen on ${this.#host}:${port} for ${build.table.listeners.find((e) => e.port === port)?.route ?? '?'}: ${errorMessage(err)}`, { port }));
      }
    }
    this.#commit(build, appliedAt);
    return {
      ok: true,
      epoch: table.epoch,
      version: table.version,
      digest,
      changed: true,
      opened: build.opened.map((l) => l.port),
      closed: build.removed.map((l) => l.port),
      warnings: build.warnings,
    };
  }

  /**
   * Builds what `table` needs, reusing every committed object that is still exact. With
   * `touched` (a delta), entries outside it are known unchanged and reused without comparing.
   */
  #build(table: RoutingTable, digest: string, touched?: DeltaTouched): Build {
    const warnings: string[] = [];

    const clusters = new Map<string, Cluster>();
    const clusterUpdates: ClusterUpdate[] = [];
    for (const entry of table.clusters) {
      const existing = this.#clusters.get(entry.id);
      if (existing !== undefined && touched !== undefined && !touched.clusters.has(entry.id)) {
        clusters.set(entry.id, existing);
      } else if (existing !== undefined && existing.entry.protocol === entry.protocol) {
        if (!jsonEqual(existing.entry, entry)) clusterUpdates.push(existing.plan(entry));
        clusters.set(entry.id, existing);
      } else {
        clusters.set(entry.id, this.#newCluster(entry));
      }
    }
    const removedClusters = [...this.#clusters.values()].filter((c) => clusters.get(c.id) !== c);

    const httpRoutes = new Map<string, HttpRouteSlot>();
    const l4Routes = new Map<string, BuiltL4>();
    for (const entry of table.routes) {
      warnings.push(...ignoredPolicies(entry));
      const unchanged = (prev: RouteEntry): boolean => touched === undefined ? jsonEqual(prev, entry) : !touched.routes.has(entry.id);
      if (entry.protocol === 'http') {
        const prev = this.#httpRoutes.get(entry.id);
        // Same entry over the same cluster objects: the route (built or not) is still exact.
        let slot = prev !== undefined && unchanged(prev.entry) && prev.uses(clusters) ? prev : undefined;
        if (slot === undefined) {
          slot = new HttpRouteSlot(entry, namedClusters(entry).map((id) => clusters.get(id)!), (s) => this.#buildHttp(s));
          // Anything else is built now: its warnings belong to this apply, its series show from zero.
          if (!buildsLazily(entry)) slot.resolve();
        }
        if (slot.built !== undefined) warnings.push(...slot.built.route.warnings);
        httpRoutes.set(entry.id, slot);
      } else {
        const prev = this.#l4Routes.get(entry.id);
        const built = prev !== undefined && prev.entry.protocol === entry.protocol && unchanged(prev.entry) && prev.clusters.every((c) => clusters.get(c.id) === c)
          ? prev
          : this.#buildL4(entry, clusters);
        l4Routes.set(entry.id, built);
      }
    }

    const listeners = new Map<number, AnyListener>();
    const opened: AnyListener[] = [];
    for (const le of table.listeners) {
      const existing = this.#listeners.get(le.port);
      if (existing !== undefined && existing.protocol === le.protocol) {
        listeners.set(le.port, existing);
        continue;
      }
      let created: AnyListener | undefined;
      if (le.protocol === 'http') {
        created = {
          kind: 'http',
          protocol: 'http',
          port: le.port,
          l: new HttpListener({ host: this.#host, port: le.port, route: routeOf(httpRoutes.get(le.route)!), limits: this.limits, reusePort: this.#opts.reusePort, log: this.log, overload: this.overload }),
        };
      } else {
        const factory = (this.#opts.l4 ?? DEFAULT_L4)[le.protocol];
        if (factory === undefined) {
          warnings.push(`listener ${le.port} (${le.route}): ${le.protocol} forwarding is not available in this proxy; the port is not opened`);
          continue;
        }
        created = {
          kind: 'l4',
          protocol: le.protocol,
          port: le.port,
          l: factory({ host: this.#host, port: le.port, route: l4Routes.get(le.route)!.route, observer: this.#observer, reusePort: this.#opts.reusePort, log: this.log, identities: this.identities }),
        };
      }
      listeners.set(le.port, created);
      opened.push(created);
    }
    const removed = [...this.#listeners.entries()].filter(([port, l]) => listeners.get(port) !== l).map(([, l]) => l);

    const identities = touched !== undefined && !touched.identities ? undefined : this.identities.plan(table.identities);
    return { table, digest, clusters, clusterUpdates, removedClusters, httpRoutes, l4Routes, listeners, opened, removed, releasedEarly: new Set(), warnings, identities };
  }

  /** Makes a build current. Synchronous and infallible, so traffic never sees half a table. */
  #commit(b: Build, appliedAt: number): void {
    for (const u of b.clusterUpdates) u.commit();
    for (const c of b.removedClusters) c.close();
    b.identities?.();
    this.#clusters = b.clusters;
    for (const slot of this.#httpRoutes.values()) slot.live = false;
    for (const slot of b.httpRoutes.values()) slot.live = true;
    this.#httpRoutes = b.httpRoutes;
    this.#l4Routes = b.l4Routes;
    // Routes built so far (some maybe by requests on listeners this apply opened) show their
    // counters; the others keep the ones they had until their first request.
    const stats: RouteStatsPlan[] = [];
    const unbuilt: RouteEntry[] = [];
    for (const entry of b.table.routes) {
      const slot = b.httpRoutes.get(entry.id);
      const plan = slot === undefined ? b.l4Routes.get(entry.id)?.stats : slot.built?.stats;
      if (plan !== undefined) stats.push(plan);
      else unbuilt.push(entry);
    }
    this.metrics.commit(stats, unbuilt);
    this.#rateLimits.retain(b.table.routes);
    const byRoute = new Map(b.table.listeners.map((l) => [l.port, l.route]));
    for (const [port, l] of b.listeners) {
      const routeId = byRoute.get(port)!;
      if (l.kind === 'http') l.l.route = routeOf(b.httpRoutes.get(routeId)!);
      else l.l.route = b.l4Routes.get(routeId)!.route;
    }
    for (const l of b.removed) if (!b.releasedEarly.has(l)) this.#drain(l);
    this.#listeners = b.listeners;
    this.#portsLost = false;
    this.#current = { table: b.table, digest: b.digest, appliedAt };
    this.metrics.configApplied(b.table.version, appliedAt);
    if (b.warnings.length > 0) this.log.warn({ version: b.table.version, warnings: b.warnings }, 'routing table applied with warnings');
    this.log.info({ epoch: b.table.epoch, version: b.table.version, digest: b.digest, listeners: b.listeners.size, opened: b.opened.length, closed: b.removed.length }, 'routing table applied');
  }

  /** Builds an HTTP route's stages over its clusters; a route of the committed table shows its counters from then on. */
  #buildHttp(slot: HttpRouteSlot): { route: HttpRoute; stats: RouteStatsPlan } {
    const entry = slot.entry;
    const built = buildHttpRoute(entry, new Map(slot.clusters.map((c) => [c.id, c])), this.metrics.route(entry), {
      retryAfterSeconds: this.limits.retryAfterSeconds,
      maxHeaderSize: this.limits.maxHeaderSize,
      log: this.log,
      limits: this.limits,
      affinitySecret: this.#opts.affinitySecret ?? 'hostmesh',
      accessLog: this.#accessLog,
      tracer: this.#tracing?.tracer,
      rateLimits: this.#rateLimits,
      identities: this.identities,
    });
    if (slot.live) {
      this.metrics.add(built.stats);
      this.#taps.attach(entry.id, built.stats.stats);
    }
    return built;
  }

  #buildL4(entry: RouteEntry, clusters: ReadonlyMap<string, Cluster>): BuiltL4 {
    const rs = this.metrics.route(entry);
    const names = new Set(entry.backends.map((b) => serviceOfCluster(b.cluster)));
    return {
      route: buildL4Route(entry, clusters, (identity) => rs.aclDenied(identity)),
      entry,
      clusters: entry.backends.map((b) => clusters.get(b.cluster)!),
      stats: { id: entry.id, stats: rs, backends: [...names].map((n) => rs.backend(n)) },
    };
  }

  #drain(l: AnyListener): void {
    const p = l.l.close(this.limits.drainTimeoutMs).catch((err: unknown) => {
      this.log.warn({ port: l.port, err: errorMessage(err) }, 'listener close failed');
    });
    this.#draining.add(p);
    void p.finally(() => this.#draining.delete(p));
  }

  /** What every cluster is built with: one object, not one per cluster (10,000 on a big node). */
  #clusterOptions: ClusterOptions<Upstream> | undefined = undefined;

  #newCluster(entry: ClusterEntry): Cluster {
    this.#clusterOptions ??= {
      affinitySecret: this.#opts.affinitySecret ?? 'hostmesh',
      createLink: (e, ep) => createUpstream(e, ep, this.limits),
      closeLink: closeUpstream,
    };
    return new ClusterRuntime<Upstream>(entry, this.#clusterOptions);
  }

  #createAccessLog(option: boolean | AccessLogSink | undefined): AccessLog | undefined {
    if (option === undefined || option === false) return undefined;
    const sink = option === true ? new FdSink(1, { onProblem: (message) => this.log.warn(message) }) : option;
    return new AccessLog(sink, (err) => this.log.warn({ err: errorMessage(err) }, 'access log line not written'));
  }

  #createObserver(): L4Observer {
    const backendStats = (route: string, cluster: string | undefined) => {
      if (cluster === undefined) return undefined;
      return this.metrics.find(route)?.backends.get(serviceOfCluster(cluster));
    };
    // The counters a connection was opened on, so it closes on the same ones even if a table
    // apply replaced the route's backends meanwhile.
    const openedOn = new WeakMap<L4Connection, ConnectionStats>();
    const log = this.#accessLog;
    return {
      connectionOpened: (route, cluster, conn) => {
        const c = backendStats(route, cluster)?.connections;
        if (c === undefined) return;
        c.open(conn);
        openedOn.set(conn, c);
      },
      connectionClosed: (route, cluster, conn) => {
        const now = performance.now();
        openedOn.get(conn)?.close(conn, (now - conn.start) / 1000);
        log?.recordConnection(route, cluster, conn, 'closed');
      },
      connectionFailed: (route, cluster, conn) => log?.recordConnection(route, cluster, conn, 'failed'),
      connectionDenied: (route, conn) => log?.recordConnection(route, undefined, conn, 'denied'),
      connectError: (route, cluster, reason) => {
        if (reason === 'no-endpoint') return;
        const b = backendStats(route, cluster);
        if (b !== undefined) b.connectErrors++;
        this.log.debug({ route, cluster, reason }, 'l4 backend dial failed');
      },
    };
  }
}

function fail(ids: { epoch: string | undefined; version: number | undefined }, err: HostmeshError): ApplyResult {
  const problems = err.details?.problems as TableProblem[] | undefined;
  const port = err.details?.port;
  return {
    ok: false,
    epoch: ids.epoch,
    version: ids.version,
    error: { code: err.code, message: err.message, ...(problems ? { problems } : {}), ...(typeof port === 'number' ? { port } : {}) },
  };
}

/** Every cluster id a route names: its backends, its rules' backends and mirrors, its mirror. */
function namedClusters(entry: RouteEntry): string[] {
  const ids = new Set(entry.backends.map((b) => b.cluster));
  for (const r of entry.rules) {
    for (const b of clusterBackends(r)) ids.add(b.cluster);
    if (r.mirror !== undefined) ids.add(r.mirror.cluster);
  }
  if (entry.mirror !== undefined) ids.add(entry.mirror.cluster);
  return [...ids];
}

/**
 * Whether a route is built on its first request rather than when applied (issue 12: most of
 * 10,000 Services never see a request on a given node). Only a plain route: one backend and no
 * rules or policies that show series from zero (retry, circuit breaker, rate limit, mirror) or
 * can warn while built (expressions, ACL sources), so building it later changes nothing but
 * when the memory is spent. Validation stays with the apply.
 */
function buildsLazily(entry: RouteEntry): boolean {
  return entry.rules.length === 0 && entry.backends.length === 1 && entry.retry === undefined && entry.circuitBreaker === undefined &&
    entry.rateLimit === undefined && entry.mirror === undefined && entry.access === undefined;
}

/** What a listener gets: the built route, or the call that builds it on its first request. */
function routeOf(slot: HttpRouteSlot): HttpRoute | (() => HttpRoute) {
  return slot.built?.route ?? slot.resolve;
}

/** HTTP-only policies on a TCP/UDP route: applied without them, and said so. */
function ignoredPolicies(r: RoutingTable['routes'][number]): string[] {
  if (r.protocol === 'http') return [];
  const ignored = ROUTE_POLICIES.filter((p) => p.httpOnly && r[p.field] !== undefined).map((p) => p.field);
  if (ignored.length === 0) return [];
  const list = ignored.length === 1 ? ignored[0]! : `${ignored.slice(0, -1).join(', ')} and ${ignored.at(-1)!}`;
  return [`route ${r.id}: ${list} ${ignored.length === 1 ? 'applies' : 'apply'} to http routes only and ${ignored.length === 1 ? 'is' : 'are'} ignored`];
}
