/**
 * Structural validation of a routing table received over the wire or read from disk.
 *
 * A proxy must never apply a table it cannot serve, so this checks shapes, ranges and every
 * cross reference (listener -> route -> cluster). Expression sources are checked later, when
 * the proxy compiles them while building its routes; a failure there refuses the table too.
 */
import { isIP } from 'node:net';
import { Checker, describe, MAX_MS } from './checker.js';
import { ROUTE_POLICIES, validateLoadBalancer } from './policies/index.js';
import { checkIdentities, checkRule } from './rule-check.js';
import { TABLE_FORMAT } from './types.js';
export { Checker, describe };
export const PORT_ID = /^[^/\s]+\/[^/:\s]+:\d{1,5}$/;
const TRAFFIC_TYPES = ['http', 'tcp', 'udp'];
const SCHEMES = ['http', 'https', 'h2c'];
/** A cluster's own settings (everything but `id` and `endpoints`). */
export function checkClusterSettings(c, cl, p) {
    c.string(cl.namespace, `${p}.namespace`, { nonEmpty: true });
    c.string(cl.service, `${p}.service`, { nonEmpty: true });
    c.integer(cl.port, `${p}.port`, 1, 65535);
    c.oneOf(cl.protocol, `${p}.protocol`, TRAFFIC_TYPES);
    c.oneOf(cl.scheme, `${p}.scheme`, SCHEMES);
    c.integer(cl.dialTimeoutMs, `${p}.dialTimeoutMs`, 1, MAX_MS);
    // 0: none, set on purpose (unset means the proxy's default).
    if (c.optional(cl, 'readTimeoutMs'))
        c.integer(cl.readTimeoutMs, `${p}.readTimeoutMs`, 0, MAX_MS);
    if (c.optional(cl, 'writeTimeoutMs'))
        c.integer(cl.writeTimeoutMs, `${p}.writeTimeoutMs`, 0, MAX_MS);
    if (c.optional(cl, 'bodyTimeoutMs'))
        c.integer(cl.bodyTimeoutMs, `${p}.bodyTimeoutMs`, 0, MAX_MS);
    validateLoadBalancer(c, cl.loadBalancer, `${p}.loadBalancer`);
    const ph = c.object(cl.passiveHealth, `${p}.passiveHealth`);
    if (ph) {
        c.integer(ph.maxFails, `${p}.passiveHealth.maxFails`, 0, 1_000_000);
        c.integer(ph.failDurationMs, `${p}.passiveHealth.failDurationMs`, 0, MAX_MS);
    }
}
/** The ready endpoints of one cluster. */
export function checkEndpoints(c, v, p) {
    c.array(v, p).forEach((e, j) => {
        const ep = c.object(e, `${p}[${j}]`);
        if (!ep)
            return;
        if (c.string(ep.address, `${p}[${j}].address`) && isIP(ep.address) === 0) {
            c.fail(`${p}[${j}].address`, `must be an IPv4 or IPv6 address, got ${describe(ep.address)}`);
        }
        c.integer(ep.port, `${p}[${j}].port`, 1, 65535);
        if (c.optional(ep, 'nodeName'))
            c.string(ep.nodeName, `${p}[${j}].nodeName`);
        if (c.optional(ep, 'target'))
            c.string(ep.target, `${p}[${j}].target`);
    });
}
/** A reference to a cluster of the table: it exists and has the route's protocol. */
function checkClusterRef(c, id, p, protocol, clusterProtocol) {
    if (!c.string(id, p))
        return;
    const proto = clusterProtocol(id);
    if (proto === undefined)
        c.fail(p, `names unknown cluster ${id}`);
    else if (typeof protocol === 'string' && proto !== protocol)
        c.fail(p, `cluster ${id} is ${proto}, the route is ${protocol}`);
}
function checkBackends(c, v, p, protocol, allowEmpty, clusterProtocol) {
    const list = c.array(v, p);
    if (list.length === 0 && !allowEmpty)
        c.fail(p, 'must name at least one cluster');
    list.forEach((b, k) => {
        const wc = c.object(b, `${p}[${k}]`);
        if (!wc)
            return;
        checkClusterRef(c, wc.cluster, `${p}[${k}].cluster`, protocol, clusterProtocol);
        c.integer(wc.weight, `${p}[${k}].weight`, 0, 1_000_000);
    });
}
/** A route's fields after its id; `clusterProtocol` resolves the clusters it names. */
export function checkRouteBody(c, r, p, clusterProtocol) {
    c.string(r.namespace, `${p}.namespace`, { nonEmpty: true });
    c.string(r.service, `${p}.service`, { nonEmpty: true });
    c.integer(r.port, `${p}.port`, 1, 65535);
    const protoOk = c.oneOf(r.protocol, `${p}.protocol`, TRAFFIC_TYPES);
    const rules = c.array(r.rules, `${p}.rules`);
    if (protoOk && r.protocol !== 'http' && rules.length > 0)
        c.fail(`${p}.rules`, `only http routes have rules, this route is ${String(r.protocol)}`);
    const clusterRef = (id, at) => checkClusterRef(c, id, at, r.protocol, clusterProtocol);
    const policyCheck = (path, of) => ({ c, path, route: of, cluster: clusterRef });
    const ruleContext = { protocol: r.protocol, cluster: clusterRef, policyCheck };
    rules.forEach((rv, k) => {
        const rule = c.object(rv, `${p}.rules[${k}]`);
        if (rule)
            checkRule(c, rule, `${p}.rules[${k}]`, ruleContext);
    });
    checkBackends(c, r.backends, `${p}.backends`, r.protocol, false, clusterProtocol);
    const check = (path) => policyCheck(path, r);
    for (const policy of ROUTE_POLICIES) {
        if (c.optional(r, policy.field))
            policy.validate(r[policy.field], check(`${p}.${policy.field}`));
    }
}
/** A listener's protocol and route; `routeProtocol` resolves the route it names. */
export function checkListenerBody(c, l, p, routeProtocol) {
    c.oneOf(l.protocol, `${p}.protocol`, TRAFFIC_TYPES);
    if (c.string(l.route, `${p}.route`)) {
        const proto = routeProtocol(l.route);
        if (proto === undefined)
            c.fail(`${p}.route`, `names unknown route ${l.route}`);
        else if (proto !== l.protocol)
            c.fail(`${p}.protocol`, `listener is ${String(l.protocol)} but route ${l.route} is ${proto}`);
    }
}
/** Checks an untrusted value; on success the same object is returned typed. */
export function validateTable(input) {
    const c = new Checker();
    const t = c.object(input, '$');
    if (!t)
        return { ok: false, problems: c.problems };
    if (t.format !== TABLE_FORMAT)
        c.fail('$.format', `must be ${TABLE_FORMAT}, got ${describe(t.format)}`);
    c.string(t.epoch, '$.epoch', { nonEmpty: true });
    c.integer(t.version, '$.version', 0, Number.MAX_SAFE_INTEGER);
    c.string(t.generatedAt, '$.generatedAt');
    checkDns(c, t.dns);
    const clusterIds = new Map();
    c.array(t.clusters, '$.clusters').forEach((v, i) => {
        const p = `$.clusters[${i}]`;
        const cl = c.object(v, p);
        if (!cl)
            return;
        if (c.string(cl.id, `${p}.id`) && PORT_ID.test(cl.id)) {
            if (clusterIds.has(cl.id))
                c.fail(`${p}.id`, `duplicate cluster id ${cl.id}`);
            clusterIds.set(cl.id, typeof cl.protocol === 'string' ? cl.protocol : '');
        }
        else if (typeof cl.id === 'string')
            c.fail(`${p}.id`, `must look like namespace/name:port, got ${describe(cl.id)}`);
        checkClusterSettings(c, cl, p);
        checkEndpoints(c, cl.endpoints, `${p}.endpoints`);
    });
    const routeIds = new Map();
    c.array(t.routes, '$.routes').forEach((v, i) => {
        const p = `$.routes[${i}]`;
        const r = c.object(v, p);
        if (!r)
            return;
        if (c.string(r.id, `${p}.id`) && PORT_ID.test(r.id)) {
            if (routeIds.has(r.id))
                c.fail(`${p}.id`, `duplicate route id ${r.id}`);
            routeIds.set(r.id, typeof r.protocol === 'string' ? r.protocol : '');
        }
        else if (typeof r.id === 'string')
            c.fail(`${p}.id`, `must look like namespace/name:port, got ${describe(r.id)}`);
        checkRouteBody(c, r, p, (id) => clusterIds.get(id));
    });
    if (t.identities !== undefined)
        checkIdentities(c, t.identities, '$.identities');
    const ports = new Set();
    c.array(t.listeners, '$.listeners').forEach((v, i) => {
        const p = `$.listeners[${i}]`;
        const l = c.object(v, p);
        if (!l)
            return;
        if (c.integer(l.port, `${p}.port`, 1, 65535)) {
            if (ports.has(l.port))
                c.fail(`${p}.port`, `port ${l.port} is used by two listeners`);
            ports.add(l.port);
        }
        checkListenerBody(c, l, p, (id) => routeIds.get(id));
    });
    return c.problems.length === 0 ? { ok: true, table: input } : { ok: false, problems: c.problems };
}
function checkDns(c, v) {
    const dns = c.object(v, '$.dns');
    if (!dns)
        return;
    checkDnsSettings(c, dns, '$.dns');
    c.array(dns.services, '$.dns.services').forEach((sv, i) => {
        const p = `$.dns.services[${i}]`;
        const s = c.object(sv, p);
        if (s)
            checkDnsService(c, s, p);
    });
}
/** The zones answered and the TTL. */
export function checkDnsSettings(c, dns, p) {
    c.array(dns.zones, `${p}.zones`).forEach((z, i) => {
        if (c.string(z, `${p}.zones[${i}]`, { nonEmpty: true }) && !/^[a-z0-9]([a-z0-9-.]*[a-z0-9])?$/.test(z)) {
            c.fail(`${p}.zones[${i}]`, `must be a lower-case DNS name without trailing dot, got ${describe(z)}`);
        }
    });
    c.integer(dns.ttl, `${p}.ttl`, 0, 86400);
}
/** One name the mesh DNS answers. */
export function checkDnsService(c, s, p) {
    c.string(s.namespace, `${p}.namespace`, { nonEmpty: true });
    c.string(s.name, `${p}.name`, { nonEmpty: true });
    c.array(s.addresses, `${p}.addresses`).forEach((a, j) => {
        if (c.string(a, `${p}.addresses[${j}]`) && isIP(a) === 0)
            c.fail(`${p}.addresses[${j}]`, `must be an IP address, got ${describe(a)}`);
    });
    c.array(s.ports, `${p}.ports`).forEach((pv, j) => {
        const port = c.object(pv, `${p}.ports[${j}]`);
        if (!port)
            return;
        c.string(port.name, `${p}.ports[${j}].name`);
        c.oneOf(port.protocol, `${p}.ports[${j}].protocol`, ['tcp', 'udp']);
        c.integer(port.port, `${p}.ports[${j}].port`, 1, 65535);
    });
}
/** One line per problem, for logs, status and acks. */
export function formatProblems(problems) {
    return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
