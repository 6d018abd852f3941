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
/** Seconds; from a fast in-memory hop (sub-millisecond) to slow backends. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Methods counted by name; anything else is `OTHER`, so clients cannot grow label values. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'];
const OTHER = 9;
export function methodIndex(method) {
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
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
function codeClassIndex(code) {
    const c = Math.floor(code / 100) - 1;
    return c < 0 || c > 4 ? 4 : c;
}
/** Seconds a TCP connection or UDP session lasted: from a quick exchange to hours-long streams. */
export const CONNECTION_DURATION_BUCKETS = [0.01, 0.1, 1, 5, 30, 60, 300, 1800, 3600, 14400];
class DurationCell {
    count = 0;
    sum = 0;
    bounds;
    /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
    buckets;
    constructor(bounds = DURATION_BUCKETS) {
        this.bounds = bounds;
        this.buckets = new Float64Array(bounds.length + 1);
    }
    observe(seconds) {
        this.count++;
        this.sum += seconds;
        const bounds = this.bounds;
        let i = 0;
        while (i < bounds.length && seconds > bounds[i])
            i++;
        this.buckets[i]++;
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
    live = new Set();
    duration = new DurationCell(CONNECTION_DURATION_BUCKETS);
    open(conn) {
        this.opened++;
        this.live.add(conn);
    }
    /** Counts a close once; `seconds` is how long the connection lasted. */
    close(conn, seconds) {
        if (!this.live.delete(conn))
            return;
        this.closed++;
        this.closedBytesIn += conn.bytesIn;
        this.closedBytesOut += conn.bytesOut;
        this.duration.observe(seconds);
    }
    get bytesIn() {
        let n = this.closedBytesIn;
        for (const c of this.live)
            n += c.bytesIn;
        return n;
    }
    get bytesOut() {
        let n = this.closedBytesOut;
        for (const c of this.live)
            n += c.bytesOut;
        return n;
    }
}
class RequestCell {
    count = 0;
    code;
    method;
    duration;
    constructor(code, method, duration) {
        this.code = code;
        this.method = method;
        this.duration = duration;
    }
}
/** Why an attempt was retried: the `reason` label of hostmesh_retries_total, by index. */
export const RETRY_REASONS = ['connect', 'reset', 'timeout', 'status'];
/** Copies sent to a route's mirror Service, by outcome. */
export class MirrorStats {
    backend;
    sent = 0;
    dropped = 0;
    failed = 0;
    constructor(backend) {
        this.backend = backend;
    }
}
/** Counters of one route toward one backend Service. */
export class BackendStats {
    backend;
    connectErrors = 0;
    /** Retries by RETRY_REASONS index; allocated by the retry stage of routes that retry. */
    retries = undefined;
    requests = new Map();
    durations = new Map();
    /** TCP and UDP routes: connections (sessions); undefined on HTTP routes. */
    connections;
    constructor(backend, http) {
        this.backend = backend;
        // TCP/UDP routes count connections; their series follow the same rule as HTTP requests.
        this.connections = http ? undefined : new ConnectionStats();
    }
    /** Whether anything was counted toward this backend (a request, a connection, a dial error, a retry). */
    touched() {
        if (this.requests.size > 0 || this.connectErrors > 0)
            return true;
        if (this.connections !== undefined && this.connections.opened > 0)
            return true;
        if (this.retries !== undefined)
            for (const n of this.retries)
                if (n > 0)
                    return true;
        return false;
    }
    /**
     * The zero-initialised series (documented in docs/proxy.md): one success count and its 2xx
     * duration histogram, so success-rate and latency queries have values. Only those: every zero
     * histogram is 18 lines per backend on every scrape.
     */
    zero() {
        if (!this.requests.has(200))
            this.#cell(0, 200);
    }
    /** One finished request: `code` as sent to the client, `seconds` from receipt to last byte. */
    record(method, code, seconds) {
        const cell = this.requests.get(method * 1000 + code) ?? this.#cell(method, code);
        cell.count++;
        cell.duration.observe(seconds);
    }
    #cell(method, code) {
        const cell = new RequestCell(code, method, this.#duration(method, code));
        this.requests.set(method * 1000 + code, cell);
        return cell;
    }
    #duration(method, code) {
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
    namespace;
    service;
    port;
    protocol;
    http;
    /** The route's labels on every series: the addressed Service port. */
    labels;
    /** More than one backend Service (weights or expression rules): its series show from zero. */
    split = false;
    /** The backends exposed, replaced as a whole when a table is applied. */
    backends = new Map();
    /** Policy series exposed (set on commit from the plan): retries, breaker gauge, mirror counts. */
    retries = false;
    breaker = undefined;
    mirror = undefined;
    // Rate limit stage: requests answered 429, and the route's zone; exposed (from zero) while
    // the route has a limit.
    rateLimited = 0;
    zone = undefined;
    /** Set while a tap subscription matches the route (src/proxy/live/tap.ts). */
    tap = undefined;
    constructor(namespace, service, port, protocol) {
        this.namespace = namespace;
        this.service = service;
        this.port = String(port);
        this.protocol = protocol;
        this.http = protocol === 'http';
        this.labels = { destination_namespace: namespace, destination_service: service, destination_port: this.port };
    }
    /** Whether the route's per-backend series are exposed: split, or has carried traffic. */
    shown() {
        if (this.split)
            return true;
        for (const b of this.backends.values())
            if (b.touched())
                return true;
        return false;
    }
    /**
     * The counters toward a backend Service: the exposed ones, or new ones (with their zero
     * series) that become visible when the table is committed.
     */
    backend(name) {
        return this.backends.get(name) ?? new BackendStats(name, this.http);
    }
}
function sameBackends(live, next) {
    if (live.size !== next.length)
        return false;
    for (const b of next)
        if (live.get(b.backend) !== b)
            return false;
    return true;
}
/** A metric prom-client's Registry can expose, whose samples are computed at scrape time. */
class ScrapedMetric {
    name;
    help;
    type;
    /** How worker threads' values combine: `max` for state all workers share (a shared zone). */
    aggregator;
    #collect;
    constructor(name, help, type, collect, aggregator = 'sum') {
        this.name = name;
        this.help = help;
        this.type = type;
        this.#collect = collect;
        this.aggregator = aggregator;
    }
    async get() {
        return { name: this.name, help: this.help, type: this.type, values: this.#collect(), aggregator: this.aggregator };
    }
    reset() { }
}
/** A histogram's cumulative bucket, sum and count samples. */
function histogramSamples(out, name, d, labels) {
    let cumulative = 0;
    for (let i = 0; i <= d.bounds.length; i++) {
        cumulative += d.buckets[i];
        const le = i < d.bounds.length ? String(d.bounds[i]) : '+Inf';
        out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...labels, le } });
    }
    out.push({ metricName: `${name}_sum`, value: d.sum, labels });
    out.push({ metricName: `${name}_count`, value: d.count, labels });
}
export class ProxyMetrics {
    registry;
    #routes = new Map();
    #configVersion;
    #configApplied;
    constructor(registry = new Registry(), opts = {}) {
        this.registry = registry;
        if (opts.processMetrics)
            collectDefaultMetrics({ register: registry });
        registry.registerMetric(new ScrapedMetric('hostmesh_requests_total', 'HTTP requests answered, by addressed service port, backend service, status code and method.', 'counter', () => this.#requestSamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_request_duration_seconds', 'Time from receiving an HTTP request to sending the last byte of its response.', 'histogram', () => this.#durationSamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_upstream_connect_errors_total', 'Failed or timed-out connection attempts to a backend endpoint.', 'counter', () => this.#connectErrorSamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_retries_total', 'Attempts retried, by the reason the previous attempt failed.', 'counter', () => this.#retrySamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_circuit_breaker_open', 'Whether the route\'s circuit breaker refuses requests (open or recovering).', 'gauge', () => this.#breakerSamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_mirror_requests_total', 'Request copies for the route\'s mirror Service, by result.', 'counter', () => this.#mirrorSamples()));
        registry.registerMetric(new ScrapedMetric('hostmesh_rate_limited_total', 'HTTP requests refused with 429 by the route\'s rate limit.', 'counter', () => this.#zoneSamples((r) => r.rateLimited)));
        registry.registerMetric(new ScrapedMetric('hostmesh_rate_limit_keys', 'Keys the route\'s rate-limit zone remembers (at most its zone size).', 'gauge', () => this.#zoneSamples((r) => r.zone.size), 'max'));
        registry.registerMetric(new ScrapedMetric('hostmesh_rate_limit_evictions_total', 'Keys the rate-limit zone forgot before their bucket was full again (the zone is too small for the clients).', 'counter', () => this.#zoneSamples((r) => r.zone.evictions), 'max'));
        registry.registerMetric(new ScrapedMetric('hostmesh_connections_opened_total', 'TCP connections relayed to a backend endpoint, UDP sessions opened, by addressed service port, backend service and protocol.', 'counter', () => this.#connectionSamples((c) => c.opened)));
        registry.registerMetric(new ScrapedMetric('hostmesh_connections_closed_total', 'TCP connections and UDP sessions that ended (both sides closed, or idle expiry).', 'counter', () => this.#connectionSamples((c) => c.closed)));
        registry.registerMetric(new ScrapedMetric('hostmesh_connections_active', 'TCP connections and UDP sessions open now.', 'gauge', () => this.#connectionSamples((c) => c.live.size)));
        registry.registerMetric(new ScrapedMetric('hostmesh_connection_received_bytes_total', 'Bytes received from clients on TCP connections and UDP sessions (and sent on to the backend).', 'counter', () => this.#connectionSamples((c) => c.bytesIn)));
        registry.registerMetric(new ScrapedMetric('hostmesh_connection_sent_bytes_total', 'Bytes sent to clients on TCP connections and UDP sessions (received from the backend).', 'counter', () => this.#connectionSamples((c) => c.bytesOut)));
        registry.registerMetric(new ScrapedMetric('hostmesh_connection_duration_seconds', 'How long closed TCP connections and UDP sessions lasted.', 'histogram', () => this.#connectionDurationSamples()));
        // Across worker threads: the version every worker serves, and the latest apply.
        this.#configVersion = new Gauge({ name: 'hostmesh_config_version', help: 'Version of the routing table applied last.', registers: [registry], aggregator: 'min' });
        this.#configApplied = new Gauge({ name: 'hostmesh_config_applied_timestamp_seconds', help: 'Unix time the routing table was applied last.', registers: [registry], aggregator: 'max' });
    }
    /**
     * The counters of a route: the live ones when the route already exists (counts never go
     * back across applies), else new ones that appear when committed.
     */
    route(r) {
        const s = this.#routes.get(r.id);
        if (s !== undefined && s.protocol === r.protocol)
            return s;
        return new RouteStats(r.namespace, r.service, r.port, r.protocol);
    }
    /** The live counters of a route, if it is in the applied table. */
    find(routeId) {
        return this.#routes.get(routeId);
    }
    /** The live counters of every route in the applied table, by route id. */
    entries() {
        return this.#routes.entries();
    }
    /** Makes exactly these routes and backends visible; series of anything else disappear. */
    commit(plans) {
        const routes = new Map();
        for (const p of plans) {
            if (!sameBackends(p.stats.backends, p.backends))
                p.stats.backends = new Map(p.backends.map((b) => [b.backend, b]));
            p.stats.retries = p.retries ?? false;
            p.stats.breaker = p.breaker;
            p.stats.mirror = p.mirror;
            p.stats.zone = p.zone;
            p.stats.split = p.backends.length > 1;
            routes.set(p.id, p.stats);
        }
        this.#routes = routes;
    }
    configApplied(version, atMs) {
        this.#configVersion.set(version);
        this.#configApplied.set(atMs / 1000);
    }
    #each(fn) {
        for (const r of this.#routes.values()) {
            if (!r.shown())
                continue;
            for (const b of r.backends.values()) {
                if (r.http)
                    b.zero();
                fn(r, b, { ...r.labels, backend: b.backend });
            }
        }
    }
    #requestSamples() {
        const out = [];
        this.#each((_r, b, base) => {
            for (const cell of b.requests.values()) {
                out.push({ value: cell.count, labels: { ...base, code: String(cell.code), method: METHODS[cell.method] } });
            }
        });
        return out;
    }
    #durationSamples() {
        const out = [];
        const name = 'hostmesh_request_duration_seconds';
        this.#each((_r, b, base) => {
            for (const [key, d] of b.durations) {
                histogramSamples(out, name, d, { ...base, code_class: CODE_CLASSES[key % 10], method: METHODS[Math.floor(key / 10)] });
            }
        });
        return out;
    }
    #connectionSamples(value) {
        const out = [];
        this.#each((r, b, base) => {
            if (b.connections !== undefined)
                out.push({ value: value(b.connections), labels: { ...base, protocol: r.protocol } });
        });
        return out;
    }
    /** Only backends that saw a connection close: a zero histogram is 13 lines per backend. */
    #connectionDurationSamples() {
        const out = [];
        this.#each((r, b, base) => {
            if (b.connections === undefined || b.connections.closed === 0)
                return;
            histogramSamples(out, 'hostmesh_connection_duration_seconds', b.connections.duration, { ...base, protocol: r.protocol });
        });
        return out;
    }
    #zoneSamples(value) {
        const out = [];
        for (const r of this.#routes.values()) {
            if (r.zone !== undefined)
                out.push({ value: value(r), labels: r.labels });
        }
        return out;
    }
    #connectErrorSamples() {
        const out = [];
        this.#each((_r, b, base) => out.push({ value: b.connectErrors, labels: base }));
        return out;
    }
    #retrySamples() {
        const out = [];
        this.#each((r, b, base) => {
            if (!r.retries)
                return;
            for (let i = 0; i < RETRY_REASONS.length; i++)
                out.push({ value: b.retries?.[i] ?? 0, labels: { ...base, reason: RETRY_REASONS[i] } });
        });
        return out;
    }
    #breakerSamples() {
        const out = [];
        for (const r of this.#routes.values()) {
            if (r.breaker !== undefined)
                out.push({ value: r.breaker.isOpen() ? 1 : 0, labels: r.labels });
        }
        return out;
    }
    #mirrorSamples() {
        const out = [];
        for (const r of this.#routes.values()) {
            const m = r.mirror;
            if (m === undefined)
                continue;
            const base = { ...r.labels, backend: m.backend };
            out.push({ value: m.sent, labels: { ...base, result: 'sent' } });
            out.push({ value: m.dropped, labels: { ...base, result: 'dropped' } });
            out.push({ value: m.failed, labels: { ...base, result: 'failed' } });
        }
        return out;
    }
}
