/**
 * The proxy's Prometheus metrics, one Registry per engine.
 *
 * Request counts and durations are kept in plain per-route cells that the hot path increments
 * directly (prom-client hashes a label object on every inc, which costs more than the rest of
 * the bookkeeping); the cells are turned into samples only when /metrics is scraped.
 *
 * Labels name the addressed Service port as `destination_namespace`, `destination_service` and
 * `destination_port`: Prometheus attaches its own `namespace`/`service` target labels to every
 * sample (the proxy's pod), and metric labels of the same name would be renamed `exported_*`.
 *
 * Per-backend series (requests, durations, connect errors, retries) are exposed only for routes
 * that carry traffic or are split (more than one backend Service, by weight or by expression);
 * those start at zero so success-rate queries have values. An idle route costs no text: with
 * 10,000 Services that is what keeps a scrape small (see bench/metrics-scrape.ts).
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { serviceOfCluster } from '../table/index.ts';
import type { IdentityEntry, RouteEntry } from '../table/index.ts';
import type { RouteTap } from './live/tap.ts';
import type { L4Connection } from './types.ts';

/** Seconds; from a fast in-memory hop (sub-millisecond) to slow backends. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Methods counted by name; anything else is `OTHER`, so clients cannot grow label values. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;
const OTHER = 9;

export function methodIndex(method: string): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return OTHER;
  }
}

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function codeClassIndex(code: number): number {
  const c = Math.floor(code / 100) - 1;
  return c < 0 || c > 4 ? 4 : c;
}

/** Seconds a TCP connection or UDP session lasted: from a quick exchange to hours-long streams. */
export const CONNECTION_DURATION_BUCKETS: readonly number[] = [0.01, 0.1, 1, 5, 30, 60, 300, 1800, 3600, 14400];

class DurationCell {
  count = 0;
  sum = 0;
  readonly bounds: readonly number[];
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: Float64Array;

  constructor(bounds: readonly number[] = DURATION_BUCKETS) {
    this.bounds = bounds;
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]!++;
  }
}

/**
 * TCP connections or UDP sessions of one route toward one backend Service. Bytes of closed
 * connections are summed as they close; open ones are read live at scrape time, so nothing is
 * counted per packet.
 */
export class ConnectionStats {
  opened = 0;
  closed = 0;
  /** Bytes from clients / to clients of the connections already closed. */
  closedBytesIn = 0;
  closedBytesOut = 0;
  readonly live = new Set<L4Connection>();
  readonly duration = new DurationCell(CONNECTION_DURATION_BUCKETS);

  open(conn: L4Connection): void {
    this.opened++;
    this.live.add(conn);
  }

  /** Counts a close once; `seconds` is how long the connection lasted. */
  close(conn: L4Connection, seconds: number): void {
    if (!this.live.delete(conn)) return;
    this.closed++;
    this.closedBytesIn += conn.bytesIn;
    this.closedBytesOut += conn.bytesOut;
    this.duration.observe(seconds);
  }

  get bytesIn(): number {
    let n = this.closedBytesIn;
    for (const c of this.live) n += c.bytesIn;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedBytesOut;
    for (const c of this.live) n += c.bytesOut;
    return n;
  }
}

class RequestCell {
  count = 0;
  readonly code: number;
  readonly method: number;
  readonly duration: DurationCell;

  constructor(code: number, method: number, duration: DurationCell) {
    this.code = code;
    this.method = method;
    this.duration = duration;
  }
}

/** Why an attempt was retried: the `reason` label of hostmesh_retries_total, by index. */
export const RETRY_REASONS = ['connect', 'reset', 'timeout', 'status'] as const;

/** Copies sent to a route's mirror Service, by outcome. */
export class MirrorStats {
  readonly backend: string;
  sent = 0;
  dropped = 0;
  failed = 0;

  constructor(backend: string) {
    this.backend = backend;
  }
}

/** A circuit breaker as its gauge reads it. */
export interface BreakerGauge {
  /** Whether the breaker refuses requests now (open or recovering). */
  isOpen(): boolean;
}

/** Counters of one route toward one backend Service. */
export class BackendStats {
  readonly backend: string;
  connectErrors = 0;
  /** Retries by RETRY_REASONS index; allocated by the retry stage of routes that retry. */
  retries: Float64Array | undefined = undefined;
  readonly requests = new Map<number, RequestCell>();
  readonly durations = new Map<number, DurationCell>();
  /** TCP and UDP routes: connections (sessions); undefined on HTTP routes. */
  readonly connections: ConnectionStats | undefined;

  constructor(backend: string, http: boolean) {
    this.backend = backend;
    // TCP/UDP routes count connections; their series follow the same rule as HTTP requests.
    this.connections = http ? undefined : new ConnectionStats();
  }

  /** Whether anything was counted toward this backend (a request, a connection, a dial error, a retry). */
  touched(): boolean {
    if (this.requests.size > 0 || this.connectErrors > 0) return true;
    if (this.connections !== undefined && this.connections.opened > 0) return true;
    if (this.retries !== undefined) for (const n of this.retries) if (n > 0) return true;
    return false;
  }

  /**
   * The zero-initialised series (documented in docs/proxy.md): one success count and its 2xx
   * duration histogram, so success-rate and latency queries have values. Only those: every zero
   * histogram is 18 lines per backend on every scrape.
   */
  zero(): void {
    if (!this.requests.has(200)) this.#cell(0, 200);
  }

  /** One finished request: `code` as sent to the client, `seconds` from receipt to last byte. */
  record(method: number, code: number, seconds: number): void {
    const cell = this.requests.get(method * 1000 + code) ?? this.#cell(method, code);
    cell.count++;
    cell.duration.observe(seconds);
  }

  #cell(method: number, code: number): RequestCell {
    const cell = new RequestCell(code, method, this.#duration(method, code));
    this.requests.set(method * 1000 + code, cell);
    return cell;
  }

  #duration(method: number, code: number): DurationCell {
    const key = method * 10 + codeClassIndex(code);
    let d = this.durations.get(key);
    if (d === undefined) {
      d = new DurationCell();
      this.durations.set(key, d);
    }
    return d;
  }
}

/** All counters of one route (one addressed Service port). */
export class RouteStats {
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
  readonly protocol: string;
  readonly http: boolean;
  /** The route's labels on every series: the addressed Service port. */
  readonly labels: Readonly<Record<string, string>>;
  /** More than one backend Service (weights or expression rules): its series show from zero. */
  split = false;
  /** The backends exposed, replaced as a whole when a table is applied. */
  backends: ReadonlyMap<string, BackendStats> = new Map();
  /** Policy series exposed (set on commit from the plan): retries, breaker gauge, mirror counts. */
  retries = false;
  breaker: BreakerGauge | undefined = undefined;
  mirror: MirrorStats | undefined = undefined;
  // Rate limit stage: requests answered 429, and the route's zone; exposed (from zero) while
  // the route has a limit.
  rateLimited = 0;
  zone: RateLimitZoneStats | undefined = undefined;
  /**
   * ACL mode: requests, TCP connections and UDP datagrams denied, by source identity
   * (`namespace` LF `serviceAccount`; '' for an address the identity map does not know).
   */
  readonly aclDenials = new Map<string, number>();
  /** Set while a tap subscription matches the route (src/proxy/live/tap.ts). */
  tap: RouteTap | undefined = undefined;

  constructor(namespace: string, service: string, port: number, protocol: string) {
    this.namespace = namespace;
    this.service = service;
    this.port = String(port);
    this.protocol = protocol;
    this.http = protocol === 'http';
    this.labels = { destination_namespace: namespace, destination_service: service, destination_port: this.port };
  }

  /** Counts one denial in ACL mode (`hostmesh_acl_denied_total`). */
  aclDenied(identity: IdentityEntry | undefined): void {
    const key = identity === undefined ? '' : `${identity.namespace}\n${identity.serviceAccount}`;
    this.aclDenials.set(key, (this.aclDenials.get(key) ?? 0) + 1);
  }

  /** Whether the route's per-backend series are exposed: split, or has carried traffic. */
  shown(): boolean {
    if (this.split) return true;
    for (const b of this.backends.values()) if (b.touched()) return true;
    return false;
  }

  /**
   * The counters toward a backend Service: the exposed ones, or new ones (with their zero
   * series) that become visible when the table is committed.
   */
  backend(name: string): BackendStats {
    return this.backends.get(name) ?? new BackendStats(name, this.http);
  }
}

/** What a table apply commits for one route: its counters and the backends it uses. */
export interface RouteStatsPlan {
  readonly id: string;
  readonly stats: RouteStats;
  readonly backends: readonly BackendStats[];
  /** Declared by policy stages while the route is built; exposed on commit. */
  retries?: boolean;
  breaker?: BreakerGauge | undefined;
  mirror?: MirrorStats | undefined;
  /** The route's rate-limit zone, when it has a limit (its rate-limit series are exposed). */
  readonly zone?: RateLimitZoneStats | undefined;
}

/** What the rate-limit metrics read of a zone (a RateLimitStore). */
export interface RateLimitZoneStats {
  readonly size: number;
  readonly evictions: number;
}

function sameBackends(live: ReadonlyMap<string, BackendStats>, next: readonly BackendStats[]): boolean {
  if (live.size !== next.length) return false;
  for (const b of next) if (live.get(b.backend) !== b) return false;
  return true;
}

/** Sets a route's exposed backends and policy series from its plan. */
function exposePlan(p: RouteStatsPlan): RouteStats {
  if (!sameBackends(p.stats.backends, p.backends)) p.stats.backends = new Map(p.backends.map((b) => [b.backend, b]));
  p.stats.retries = p.retries ?? false;
  p.stats.breaker = p.breaker;
  p.stats.mirror = p.mirror;
  p.stats.zone = p.zone;
  p.stats.split = p.backends.length > 1;
  return p.stats;
}

interface Sample {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/** A metric prom-client's Registry can expose, whose samples are computed at scrape time. */
class ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram' | 'gauge';
  /** How worker threads' values combine: `max` for state all workers share (a shared zone). */
  readonly aggregator: 'sum' | 'max';
  readonly #collect: () => Sample[];

  constructor(name: string, help: string, type: 'counter' | 'histogram' | 'gauge', collect: () => Sample[], aggregator: 'sum' | 'max' = 'sum') {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#collect = collect;
    this.aggregator = aggregator;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.#collect(), aggregator: this.aggregator };
  }

  reset(): void {}
}

/** A histogram's cumulative bucket, sum and count samples. */
function histogramSamples(out: Sample[], name: string, d: DurationCell, labels: Record<string, string>): void {
  let cumulative = 0;
  for (let i = 0; i <= d.bounds.length; i++) {
    cumulative += d.buckets[i]!;
    const le = i < d.bounds.length ? String(d.bounds[i]) : '+Inf';
    out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...labels, le } });
  }
  out.push({ metricName: `${name}_sum`, value: d.sum, labels });
  out.push({ metricName: `${name}_count`, value: d.count, labels });
}

export interface ProxyMetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop, GC). */
  processMetrics?: boolean;
}

export class ProxyMetrics {
  readonly registry: Registry;
  #routes = new Map<string, RouteStats>();
  readonly #configVersion: Gauge;
  readonly #configApplied: Gauge;

  constructor(registry: Registry = new Registry(), opts: ProxyMetricsOptions = {}) {
    this.registry = registry;
    if (opts.processMetrics) collectDefaultMetrics({ register: registry });
    registry.registerMetric(new ScrapedMetric('hostmesh_requests_total', 'HTTP requests answered, by addressed service port, backend service, status code and method.', 'counter', () => this.#requestSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_request_duration_seconds', 'Time from receiving an HTTP request to sending the last byte of its response.', 'histogram', () => this.#durationSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_upstream_connect_errors_total', 'Failed or timed-out connection attempts to a backend endpoint.', 'counter', () => this.#connectErrorSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_retries_total', 'Attempts retried, by the reason the previous attempt failed.', 'counter', () => this.#retrySamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_circuit_breaker_open', 'Whether the route\'s circuit breaker refuses requests (open or recovering).', 'gauge', () => this.#breakerSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_mirror_requests_total', 'Request copies for the route\'s mirror Service, by result.', 'counter', () => this.#mirrorSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_rate_limited_total', 'HTTP requests refused with 429 by the route\'s rate limit.', 'counter', () => this.#zoneSamples((r) => r.rateLimited)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_rate_limit_keys', 'Keys the route\'s rate-limit zone remembers (at most its zone size).', 'gauge', () => this.#zoneSamples((r) => r.zone!.size), 'max') as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_rate_limit_evictions_total', 'Keys the rate-limit zone forgot before their bucket was full again (the zone is too small for the clients).', 'counter', () => this.#zoneSamples((r) => r.zone!.evictions), 'max') as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_acl_denied_total', 'Requests (http), connections (tcp) and datagrams (udp) denied in ACL mode, by source identity (empty: an address the identity map does not know).', 'counter', () => this.#aclSamples()) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connections_opened_total', 'TCP connections relayed to a backend endpoint, UDP sessions opened, by addressed service port, backend service and protocol.', 'counter', () => this.#connectionSamples((c) => c.opened)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connections_closed_total', 'TCP connections and UDP sessions that ended (both sides closed, or idle expiry).', 'counter', () => this.#connectionSamples((c) => c.closed)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connections_active', 'TCP connections and UDP sessions open now.', 'gauge', () => this.#connectionSamples((c) => c.live.size)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connection_received_bytes_total', 'Bytes received from clients on TCP connections and UDP sessions (and sent on to the backend).', 'counter', () => this.#connectionSamples((c) => c.bytesIn)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connection_sent_bytes_total', 'Bytes sent to clients on TCP connections and UDP sessions (received from the backend).', 'counter', () => this.#connectionSamples((c) => c.bytesOut)) as never);
    registry.registerMetric(new ScrapedMetric('hostmesh_connection_duration_seconds', 'How long closed TCP connections and UDP sessions lasted.', 'histogram', () => this.#connectionDurationSamples()) as never);
    // Across worker threads: the version every worker serves, and the latest apply.
    this.#configVersion = new Gauge({ name: 'hostmesh_config_version', help: 'Version of the routing table applied last.', registers: [registry], aggregator: 'min' });
    this.#configApplied = new Gauge({ name: 'hostmesh_config_applied_timestamp_seconds', help: 'Unix time the routing table was applied last.', registers: [registry], aggregator: 'max' });
  }

  /**
   * The counters of a route: the live ones when the route already exists (counts never go
   * back across applies), else new ones that appear when committed.
   */
  route(r: Pick<RouteEntry, 'id' | 'namespace' | 'service' | 'port' | 'protocol'>): RouteStats {
    const s = this.#routes.get(r.id);
    if (s !== undefined && s.protocol === r.protocol) return s;
    return new RouteStats(r.namespace, r.service, r.port, r.protocol);
  }

  /** The live counters of a route, if it is in the applied table. */
  find(routeId: string): RouteStats | undefined {
    return this.#routes.get(routeId);
  }

  /** The live counters of every route in the applied table, by route id. */
  entries(): IterableIterator<[string, RouteStats]> {
    return this.#routes.entries();
  }

  /**
   * Makes exactly these routes and backends visible; series of anything else disappear, except
   * the live counters of `unbuilt` routes (built on their first request: src/proxy/engine.ts),
   * kept toward the backends they still name until then, so counts never go back.
   */
  commit(plans: Iterable<RouteStatsPlan>, unbuilt: Iterable<RouteEntry> = []): void {
    const routes = new Map<string, RouteStats>();
    for (const p of plans) routes.set(p.id, exposePlan(p));
    for (const e of unbuilt) {
      const s = this.#routes.get(e.id);
      if (s === undefined || s.protocol !== e.protocol) continue;
      const names = new Set(e.backends.map((b) => serviceOfCluster(b.cluster)));
      if ([...s.backends.keys()].some((n) => !names.has(n))) s.backends = new Map([...s.backends].filter(([n]) => names.has(n)));
      // A route built on first use is a plain one: no policy series.
      s.split = s.backends.size > 1;
      s.retries = false;
      s.breaker = s.mirror = s.zone = undefined;
      routes.set(e.id, s);
    }
    this.#routes = routes;
  }

  /** Makes one more route visible (one of the applied table, built on its first request). */
  add(plan: RouteStatsPlan): void {
    this.#routes.set(plan.id, exposePlan(plan));
  }

  configApplied(version: number, atMs: number): void {
    this.#configVersion.set(version);
    this.#configApplied.set(atMs / 1000);
  }

  #each(fn: (r: RouteStats, b: BackendStats, base: Record<string, string>) => void): void {
    for (const r of this.#routes.values()) {
      if (!r.shown()) continue;
      for (const b of r.backends.values()) {
        if (r.http) b.zero();
        fn(r, b, { ...r.labels, backend: b.backend });
      }
    }
  }

  #requestSamples(): Sample[] {
    const out: Sample[] = [];
    this.#each((_r, b, base) => {
      for (const cell of b.requests.values()) {
        out.push({ value: cell.count, labels: { ...base, code: String(cell.code), method: METHODS[cell.method]! } });
      }
    });
    return out;
  }

  #durationSamples(): Sample[] {
    const out: Sample[] = [];
    const name = 'hostmesh_request_duration_seconds';
    this.#each((_r, b, base) => {
      for (const [key, d] of b.durations) {
        histogramSamples(out, name, d, { ...base, code_class: CODE_CLASSES[key % 10]!, method: METHODS[Math.floor(key / 10)]! });
      }
    });
    return out;
  }

  #connectionSamples(value: (c: ConnectionStats) => number): Sample[] {
    const out: Sample[] = [];
    this.#each((r, b, base) => {
      if (b.connections !== undefined) out.push({ value: value(b.connections), labels: { ...base, protocol: r.protocol } });
    });
    return out;
  }

  /** Only backends that saw a connection close: a zero histogram is 13 lines per backend. */
  #connectionDurationSamples(): Sample[] {
    const out: Sample[] = [];
    this.#each((r, b, base) => {
      if (b.connections === undefined || b.connections.closed === 0) return;
      histogramSamples(out, 'hostmesh_connection_duration_seconds', b.connections.duration, { ...base, protocol: r.protocol });
    });
    return out;
  }

  #zoneSamples(value: (r: RouteStats) => number): Sample[] {
    const out: Sample[] = [];
    for (const r of this.#routes.values()) {
      if (r.zone !== undefined) out.push({ value: value(r), labels: r.labels });
    }
    return out;
  }

  #connectErrorSamples(): Sample[] {
    const out: Sample[] = [];
    this.#each((_r, b, base) => out.push({ value: b.connectErrors, labels: base }));
    return out;
  }

  #retrySamples(): Sample[] {
    const out: Sample[] = [];
    this.#each((r, b, base) => {
      if (!r.retries) return;
      for (let i = 0; i < RETRY_REASONS.length; i++) out.push({ value: b.retries?.[i] ?? 0, labels: { ...base, reason: RETRY_REASONS[i]! } });
    });
    return out;
  }

  #aclSamples(): Sample[] {
    const out: Sample[] = [];
    for (const r of this.#routes.values()) {
      for (const [key, value] of r.aclDenials) {
        const nl = key.indexOf('\n');
        const source_namespace = nl < 0 ? '' : key.slice(0, nl);
        const source_service_account = nl < 0 ? '' : key.slice(nl + 1);
        out.push({ value, labels: { ...r.labels, source_namespace, source_service_account } });
      }
    }
    return out;
  }

  #breakerSamples(): Sample[] {
    const out: Sample[] = [];
    for (const r of this.#routes.values()) {
      if (r.breaker !== undefined) out.push({ value: r.breaker.isOpen() ? 1 : 0, labels: r.labels });
    }
    return out;
  }

  #mirrorSamples(): Sample[] {
    const out: Sample[] = [];
    for (const r of this.#routes.values()) {
      const m = r.mirror;
      if (m === undefined) continue;
      const base = { ...r.labels, backend: m.backend };
      out.push({ value: m.sent, labels: { ...base, result: 'sent' } });
      out.push({ value: m.dropped, labels: { ...base, result: 'dropped' } });
      out.push({ value: m.failed, labels: { ...base, result: 'failed' } });
    }
    return out;
  }
}
