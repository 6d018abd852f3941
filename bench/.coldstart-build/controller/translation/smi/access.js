import { cmp, diagnostic, serviceObject } from '../diagnostics.js';
import { smiObject } from './read.js';
import { matchesEverything, toHttpMatch } from './matches.js';
/** The ServiceAccounts running a port's endpoints, and how many endpoints have no known Pod. */
export function endpointServiceAccounts(svc, port, pods) {
    const accounts = new Set();
    let unknown = 0;
    for (const ep of port.endpoints) {
        let sa = ep.target !== undefined ? pods.byName.get(ep.target) : undefined;
        if (sa === undefined) {
            const byAddress = pods.byAddress.get(ep.address);
            if (byAddress !== undefined && byAddress.namespace === svc.namespace)
                sa = byAddress.serviceAccount;
        }
        if (sa === undefined)
            unknown++;
        else
            accounts.add(sa);
    }
    return { accounts, unknown };
}
/** Whether TrafficTarget `t` names a destination running `port` of `svc`. */
export function targetApplies(t, svc, port, accounts) {
    if (t.destination.namespace !== svc.namespace || !accounts.has(t.destination.serviceAccount))
        return false;
    const p = t.destination.port;
    return p === undefined || p === port.port || port.endpoints.some((e) => e.port === p);
}
export function accessPolicy(svc, port, index, pods, diagnostics) {
    const where = `${svc.namespace}/${svc.name} port ${port.port}`;
    const { accounts, unknown } = endpointServiceAccounts(svc, port, pods);
    if (unknown > 0) {
        diagnostics.push(diagnostic('info', 'acl-endpoint-unknown', serviceObject(svc.namespace, svc.name), `${where}: ${unknown} endpoint(s) have no known Pod, so no TrafficTarget can name their ServiceAccount (list the Pods, or give the EndpointSlice targetRefs)`));
    }
    const grants = new Map();
    for (const t of index.targets) {
        if (!targetApplies(t, svc, port, accounts))
            continue;
        const allowed = allowedBy(t, port, index, diagnostics);
        if (allowed === undefined)
            continue;
        for (const src of t.sources) {
            const key = `${src.namespace}/${src.serviceAccount}`;
            let g = grants.get(key);
            if (g === undefined) {
                g = { namespace: src.namespace, serviceAccount: src.serviceAccount, all: false, matches: new Map(), origins: new Set() };
                grants.set(key, g);
            }
            g.origins.add(`TrafficTarget ${t.namespace}/${t.name}`);
            if (allowed === 'all')
                g.all = true;
            else
                for (const m of allowed)
                    g.matches.set(JSON.stringify(m), m);
        }
    }
    const allow = [...grants.values()]
        .toSorted((a, b) => cmp(a.namespace, b.namespace) || cmp(a.serviceAccount, b.serviceAccount))
        .map((g) => {
        const s = { namespace: g.namespace, serviceAccount: g.serviceAccount };
        if (!g.all)
            s.matches = [...g.matches.values()];
        s.origins = [...g.origins].toSorted();
        return s;
    });
    return { allow };
}
/** What `t`'s rules allow on `port`: every request/connection, some requests, or nothing (undefined). */
export function allowedBy(t, port, index, diagnostics) {
    const label = `TrafficTarget ${t.namespace}/${t.name}`;
    const matches = [];
    let all = false;
    for (const rule of t.rules) {
        const key = `${t.namespace}/${rule.name}`;
        if (rule.kind === 'HTTPRouteGroup') {
            if (port.protocol !== 'http')
                continue;
            const group = index.routeGroups.get(key);
            if (group === undefined) {
                diagnostics.push(diagnostic('error', 'smi-reference-missing', smiObject(t), `${label}: HTTPRouteGroup ${key} does not exist, so that rule allows nothing`));
                continue;
            }
            const named = rule.matches;
            for (const n of named ?? []) {
                if (!group.matches.some((m) => m.name === n)) {
                    diagnostics.push(diagnostic('error', 'smi-reference-missing', smiObject(t), `${label}: HTTPRouteGroup ${key} has no match named ${JSON.stringify(n)}, so it allows nothing`));
                }
            }
            for (const m of group.matches) {
                if (named !== undefined && !named.includes(m.name))
                    continue;
                const r = toHttpMatch(m);
                if (!r.ok) {
                    diagnostics.push(diagnostic('error', 'smi-invalid', smiObject(group), `HTTPRouteGroup ${key}: ${r.problem}; it allows nothing`));
                    continue;
                }
                if (matchesEverything(r.match))
                    all = true;
                else
                    matches.push(r.match);
            }
        }
        else if (rule.kind === 'TCPRoute' || rule.kind === 'UDPRoute') {
            if (port.protocol !== (rule.kind === 'TCPRoute' ? 'tcp' : 'udp'))
                continue;
            const route = (rule.kind === 'TCPRoute' ? index.tcpRoutes : index.udpRoutes).get(key);
            if (route === undefined) {
                diagnostics.push(diagnostic('error', 'smi-reference-missing', smiObject(t), `${label}: ${rule.kind} ${key} does not exist, so that rule allows nothing`));
                continue;
            }
            const ports = route.ports;
            if (ports === undefined || ports.includes(port.port) || port.endpoints.some((e) => ports.includes(e.port)))
                all = true;
        }
        else {
            diagnostics.push(diagnostic('warning', 'smi-reference-missing', smiObject(t), `${label}: a rule of kind ${rule.kind} is not read (HTTPRouteGroup, TCPRoute and UDPRoute are), so it allows nothing`));
        }
    }
    if (all)
        return 'all';
    return matches.length > 0 ? matches : undefined;
}
