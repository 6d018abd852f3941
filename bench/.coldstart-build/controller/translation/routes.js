import { diagnostic, serviceObject } from './diagnostics.js';
export function buildCluster(svc, port) {
    const s = svc.settings;
    const http = port.protocol === 'http';
    const cluster = {
        id: port.id,
        namespace: svc.namespace,
        service: svc.name,
        port: port.port,
        protocol: port.protocol,
        scheme: http ? s.scheme ?? schemeOf(port.appProtocol) : 'http',
        dialTimeoutMs: s.dialTimeoutMs,
        loadBalancer: http || !isAffinity(s.loadBalancer) ? { ...s.loadBalancer } : { kind: 'least-request' },
        passiveHealth: { ...s.passiveHealth },
        endpoints: port.endpoints,
    };
    if (s.readTimeoutMs !== undefined)
        cluster.readTimeoutMs = s.readTimeoutMs;
    if (s.bodyTimeoutMs !== undefined && http)
        cluster.bodyTimeoutMs = s.bodyTimeoutMs;
    if (s.writeTimeoutMs !== undefined)
        cluster.writeTimeoutMs = s.writeTimeoutMs;
    return cluster;
}
const isAffinity = (lb) => lb.kind === 'cookie' || lb.kind === 'header';
/**
 * The scheme a Service port's appProtocol implies: Kubernetes' standard values, and `grpc`
 * (gRPC without TLS is HTTP/2 with prior knowledge; the Gateway API conformance manifests use it).
 */
function schemeOf(appProtocol) {
    if (appProtocol === 'kubernetes.io/h2c' || appProtocol === 'grpc')
        return 'h2c';
    if (appProtocol === 'https')
        return 'https';
    return 'http';
}
/** The cluster of Service `name`'s port with `port`'s number and protocol (same namespace), or why there is none. */
export function portTarget(svc, port, lookup, name) {
    const t = lookup(svc.namespace, name);
    if (t === 'missing')
        return { problem: `Service ${svc.namespace}/${name} does not exist` };
    if (t === 'not-meshed')
        return { problem: `Service ${svc.namespace}/${name} is not in the mesh` };
    const p = t.ports.find((x) => x.port === port.port);
    if (!p)
        return { problem: `Service ${svc.namespace}/${name} has no port ${port.port}` };
    if (p.protocol !== port.protocol)
        return { problem: `port ${port.port} of ${svc.namespace}/${name} is ${p.protocol}, this route is ${port.protocol}` };
    return { cluster: p.id };
}
export function buildRoute(svc, port, lookup, diagnostics) {
    const s = svc.settings;
    const own = { cluster: port.id, weight: 1 };
    const route = {
        id: port.id,
        namespace: svc.namespace,
        service: svc.name,
        port: port.port,
        protocol: port.protocol,
        rules: [],
        backends: [own],
    };
    const object = serviceObject(svc.namespace, svc.name);
    const where = `${svc.namespace}/${svc.name} port ${port.port}`;
    const target = (name) => portTarget(svc, port, lookup, name);
    if (s.split?.kind === 'weights') {
        const backends = [];
        for (const w of s.split.weights) {
            const t = w.service === svc.name ? { cluster: port.id } : target(w.service);
            if ('cluster' in t)
                backends.push({ cluster: t.cluster, weight: w.weight });
            else
                diagnostics.push(diagnostic('error', 'split-target-missing', object, `${where}: traffic split: ${t.problem}, so it gets no traffic (weight ${w.weight} dropped)`));
        }
        if (backends.some((b) => b.weight > 0))
            route.backends = backends;
        else if (backends.length < s.split.weights.length) {
            diagnostics.push(diagnostic('error', 'split-target-missing', object, `${where}: traffic split: no target with a weight above 0 is left, so traffic goes to the Service itself`));
        }
    }
    else if (s.split?.kind === 'expression') {
        if (port.protocol !== 'http') {
            diagnostics.push(diagnostic('warning', 'split-unsupported', object, `${where}: an expression traffic split needs http; this port is ${port.protocol}, so it is not split (use traffic-split-weights)`));
        }
        else {
            const next = target(s.split.newService);
            if ('cluster' in next)
                route.rules = [{ match: s.split.expression, backends: [{ cluster: next.cluster, weight: 1 }] }];
            else
                diagnostics.push(diagnostic('error', 'split-target-missing', object, `${where}: traffic split: new service: ${next.problem}; matching requests stay on the other backends`));
            if (s.split.oldService !== undefined && s.split.oldService !== svc.name) {
                const old = target(s.split.oldService);
                if ('cluster' in old)
                    route.backends = [{ cluster: old.cluster, weight: 1 }];
                else
                    diagnostics.push(diagnostic('error', 'split-target-missing', object, `${where}: traffic split: old service: ${old.problem}; other requests go to the Service itself`));
            }
        }
    }
    if (s.maintenance !== undefined)
        route.maintenance = { reason: s.maintenance };
    if (port.protocol !== 'http')
        return route;
    if (s.requestTimeoutMs !== undefined)
        route.requestTimeoutMs = s.requestTimeoutMs;
    if (s.retry)
        route.retry = { ...s.retry, codes: s.retry.codes.map(([a, b]) => [a, b]) };
    if (s.rateLimit)
        route.rateLimit = { ...s.rateLimit };
    if (s.stickyCookie !== undefined)
        route.stickyCookie = s.stickyCookie;
    if (s.circuitBreaker !== undefined)
        route.circuitBreaker = { expression: s.circuitBreaker };
    if (s.mirror) {
        const m = target(s.mirror.service);
        if ('cluster' in m)
            route.mirror = { cluster: m.cluster, percent: s.mirror.percent };
        else
            diagnostics.push(diagnostic('error', 'mirror-target-missing', object, `${where}: mirror: ${m.problem}; nothing is mirrored`));
    }
    return route;
}
