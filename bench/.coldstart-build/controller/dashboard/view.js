/**
 * What the dashboard shows, as one JSON document built from the routing table, the proxies'
 * status and live figures, and the configuration problems. Pure: the same inputs give the
 * same view (tests build it directly).
 */
import { clusterBackends, describeRuleMatch } from '../../table/index.js';
/** The `dial-timeout` default (docs/annotations.md): not worth a line on every Service. */
const DEFAULT_DIAL_TIMEOUT_MS = 3000;
function duration(ms) {
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
/** The policies a route and its own cluster apply, one short phrase each. */
export function policiesOf(r, c) {
    const out = [];
    if (r.maintenance)
        out.push(`maintenance: ${r.maintenance.reason}`);
    if (r.requestTimeoutMs !== undefined)
        out.push(`request timeout ${duration(r.requestTimeoutMs)}`);
    if (r.retry) {
        const limits = [r.retry.count === undefined ? '' : `${r.retry.count}x`, r.retry.durationMs === undefined ? '' : `within ${duration(r.retry.durationMs)}`].filter((s) => s !== '').join(' ');
        const codes = r.retry.codes.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
        out.push(`retry ${limits}${codes === '' ? '' : ` on ${codes}`}${r.retry.on === 'true' ? '' : ` if ${r.retry.on}`}`);
    }
    if (r.rateLimit)
        out.push(`rate limit ${r.rateLimit.ratePerSecond}/s burst ${r.rateLimit.burst} by ${r.rateLimit.key}`);
    if (r.circuitBreaker)
        out.push(`circuit breaker ${r.circuitBreaker.expression}`);
    if (r.mirror)
        out.push(`mirror ${r.mirror.percent}% to ${r.mirror.cluster}`);
    if (r.stickyCookie !== undefined)
        out.push(`sticky cookie ${r.stickyCookie}`);
    if (c !== undefined) {
        if (c.loadBalancer.kind !== 'least-request')
            out.push(`load balancer ${c.loadBalancer.kind}${'cookie' in c.loadBalancer ? ` ${c.loadBalancer.cookie}` : 'header' in c.loadBalancer ? ` ${c.loadBalancer.header}` : ''}`);
        if (c.dialTimeoutMs !== DEFAULT_DIAL_TIMEOUT_MS)
            out.push(`dial timeout ${duration(c.dialTimeoutMs)}`);
        if (c.readTimeoutMs !== undefined)
            out.push(`read timeout ${duration(c.readTimeoutMs)}`);
        if (c.writeTimeoutMs !== undefined)
            out.push(`write timeout ${duration(c.writeTimeoutMs)}`);
    }
    return out;
}
function backendViews(list, clusters, live) {
    const total = list.reduce((n, b) => n + b.weight, 0);
    return list.map((b) => {
        const c = clusters.get(b.cluster);
        const observed = live?.backends.find((x) => x.backend === c?.service);
        return {
            cluster: b.cluster,
            weight: b.weight,
            weightShare: total > 0 ? b.weight / total : 0,
            liveShare: live === undefined || live.requests === 0 ? null : observed?.share ?? 0,
            endpoints: c?.endpoints.length ?? 0,
        };
    });
}
function objectName(o) {
    return `${o.kind} ${o.namespace === undefined ? '' : `${o.namespace}/`}${o.name}`;
}
function proxyHealth(p, ready) {
    if (!p.connected)
        return 'disconnected';
    if (p.error !== undefined)
        return 'refused';
    if (ready === false || p.appliedVersion === undefined)
        return 'not ready';
    if ((p.lagVersions ?? 0) > 0)
        return 'behind';
    return 'ok';
}
export function buildView(src) {
    const table = src.table();
    const live = src.live();
    const diagnostics = src.diagnostics().filter((d) => d.severity !== 'info');
    const liveByRoute = new Map(live.routes.map((r) => [r.route, r]));
    const clusters = new Map((table?.clusters ?? []).map((c) => [c.id, c]));
    const problemsBy = new Map();
    for (const d of diagnostics) {
        if (d.object.kind !== 'Service')
            continue;
        const id = `${d.object.namespace ?? ''}/${d.object.name}`;
        problemsBy.set(id, (problemsBy.get(id) ?? 0) + 1);
    }
    const services = new Map();
    for (const r of table?.routes ?? []) {
        const id = `${r.namespace}/${r.service}`;
        let s = services.get(id);
        if (s === undefined)
            services.set(id, (s = { id, namespace: r.namespace, name: r.service, ports: [], problems: problemsBy.get(id) ?? 0 }));
        const own = r.backends.length > 0 ? clusters.get(r.backends[0].cluster) : undefined;
        const l = liveByRoute.get(r.id);
        s.ports.push({
            route: r.id,
            port: r.port,
            protocol: r.protocol,
            scheme: own?.scheme ?? 'http',
            policies: policiesOf(r, clusters.get(`${r.namespace}/${r.service}:${r.port}`) ?? own),
            rules: [
                ...r.rules.map((rule) => ({ match: describeRuleMatch(rule), backends: backendViews(clusterBackends(rule), clusters, l) })),
                { match: 'default', backends: backendViews(r.backends, clusters, l) },
            ],
            ratePerSecond: l?.ratePerSecond ?? 0,
            successRate: l?.successRate ?? null,
            p50Ms: l?.p50Ms ?? null,
            p99Ms: l?.p99Ms ?? null,
        });
    }
    const reports = new Map(live.proxies.map((p) => [p.node, p]));
    const proxies = src.proxies().map((p) => {
        const rep = reports.get(p.node);
        return {
            node: p.node,
            software: rep?.software ?? 'unknown',
            connected: p.connected,
            appliedVersion: p.appliedVersion ?? null,
            lagVersions: p.lagVersions ?? null,
            lagMs: p.lagMs,
            health: proxyHealth(p, rep?.ready),
            lastSeen: p.lastSeen,
        };
    });
    return {
        version: table?.version ?? 0,
        generatedAt: table?.generatedAt ?? '',
        windowSeconds: live.windowSeconds,
        services: [...services.values()].toSorted((a, b) => (a.id < b.id ? -1 : 1)),
        proxies,
        problems: diagnostics.map((d) => ({ severity: d.severity, code: d.code, object: objectName(d.object), key: d.key ?? '', value: d.value ?? '', message: d.message })),
    };
}
