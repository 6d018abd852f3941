import { cmp, diagnostic } from '../diagnostics.js';
import { parseSmiObject } from './parse.js';
export function smiObject(o) {
    return { kind: o.kind, namespace: o.namespace, name: o.name };
}
/** Every SMI object of the state, read; problems reported. Sorted, first of a kind/namespace/name kept. */
export function readSmi(objects, diagnostics) {
    const index = { splits: [], routeGroups: new Map(), tcpRoutes: new Map(), udpRoutes: new Map(), targets: [] };
    const seen = new Set();
    const parsed = [];
    for (const raw of objects) {
        const r = parseSmiObject(raw);
        const meta = raw?.metadata;
        if (!r.ok) {
            const kind = raw?.kind;
            const name = typeof meta?.name === 'string' ? meta.name : '(unnamed)';
            const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
            const objectKind = typeof kind === 'string' && isSmiDiagnosticKind(kind) ? kind : 'TrafficSplit';
            diagnostics.push(diagnostic('error', 'smi-invalid', { kind: objectKind, namespace, name }, `${typeof kind === 'string' ? kind : 'object'} ${namespace}/${name}: ${r.problem}; it is ignored`));
            continue;
        }
        const o = r.object;
        for (const note of r.notes)
            diagnostics.push(diagnostic('info', 'smi-note', smiObject(o), `${o.kind} ${o.namespace}/${o.name}: ${note}`));
        const key = `${o.kind} ${o.namespace}/${o.name}`;
        if (seen.has(key)) {
            diagnostics.push(diagnostic('warning', 'smi-conflict', smiObject(o), `${key} is read more than once (${o.apiVersion}); the first one is used`));
            continue;
        }
        seen.add(key);
        parsed.push(o);
    }
    for (const o of parsed.toSorted((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))) {
        const key = `${o.namespace}/${o.name}`;
        switch (o.kind) {
            case 'TrafficSplit':
                index.splits.push(o);
                break;
            case 'HTTPRouteGroup':
                index.routeGroups.set(key, o);
                break;
            case 'TCPRoute':
                index.tcpRoutes.set(key, o);
                break;
            case 'UDPRoute':
                index.udpRoutes.set(key, o);
                break;
            case 'TrafficTarget':
                index.targets.push(o);
                break;
        }
    }
    return index;
}
function isSmiDiagnosticKind(kind) {
    return kind === 'TrafficSplit' || kind === 'HTTPRouteGroup' || kind === 'TCPRoute' || kind === 'UDPRoute' || kind === 'TrafficTarget';
}
export function indexPods(pods) {
    const byName = new Map();
    const byAddress = new Map();
    for (const p of pods ?? []) {
        const name = p?.metadata?.name;
        if (typeof name !== 'string' || name === '')
            continue;
        const namespace = p.metadata.namespace || 'default';
        const sa = serviceAccountOf(p);
        byName.set(`${namespace}/${name}`, sa);
        const addresses = [p.status?.podIP, ...(Array.isArray(p.status?.podIPs) ? p.status.podIPs.map((x) => x?.ip) : [])];
        for (const a of addresses)
            if (typeof a === 'string' && a !== '' && !byAddress.has(a))
                byAddress.set(a, { namespace, serviceAccount: sa });
    }
    return { byName, byAddress };
}
/** `spec.serviceAccountName`, its deprecated alias `spec.serviceAccount`, or `default`. */
export function serviceAccountOf(p) {
    const s = p.spec;
    if (typeof s?.serviceAccountName === 'string' && s.serviceAccountName !== '')
        return s.serviceAccountName;
    if (typeof s?.serviceAccount === 'string' && s.serviceAccount !== '')
        return s.serviceAccount;
    return 'default';
}
