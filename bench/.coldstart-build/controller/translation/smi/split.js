import { diagnostic, serviceObject } from '../diagnostics.js';
import { portTarget } from '../routes.js';
import { smiObject } from './read.js';
import { toHttpMatch } from './matches.js';
/** Applies the splits naming `svc` to its route; returns the splits used. */
export function applyTrafficSplits(svc, port, route, index, lookup, diagnostics) {
    const splits = index.splits.filter((s) => s.namespace === svc.namespace && s.service === svc.name);
    if (splits.length === 0)
        return [];
    const where = `${svc.namespace}/${svc.name} port ${port.port}`;
    const names = splits.map((s) => `TrafficSplit ${s.namespace}/${s.name}`).join(', ');
    if (svc.settings.split !== undefined) {
        diagnostics.push(diagnostic('warning', 'split-overridden', serviceObject(svc.namespace, svc.name), `${where}: ${names} ${splits.length === 1 ? 'configures' : 'configure'} its backends, so its traffic-split annotation is ignored (precedence: HTTPRoute, then TrafficSplit, then annotations)`));
    }
    route.rules = [];
    route.backends = [{ cluster: port.id, weight: 1 }];
    const plain = splits.filter((s) => s.matches.length === 0);
    const first = plain[0];
    if (first !== undefined) {
        for (const other of plain.slice(1)) {
            diagnostics.push(diagnostic('warning', 'smi-conflict', smiObject(other), `TrafficSplit ${other.namespace}/${other.name}: ${where} is already split by TrafficSplit ${first.namespace}/${first.name} (first by name), so this one is ignored there`));
        }
        const backends = resolveBackends(first, svc, port, lookup, diagnostics);
        if (backends.some((b) => b.weight > 0))
            route.backends = backends;
        else {
            diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(first), `TrafficSplit ${first.namespace}/${first.name}: ${where}: no backend with a weight above 0 is left, so traffic goes to the Service itself`));
        }
    }
    for (const split of splits.filter((s) => s.matches.length > 0)) {
        const label = `TrafficSplit ${split.namespace}/${split.name}`;
        if (port.protocol !== 'http') {
            diagnostics.push(diagnostic('warning', 'split-unsupported', smiObject(split), `${label}: its matches need http; ${where} is ${port.protocol}, so the split does not apply there`));
            continue;
        }
        const matches = groupMatches(split, index, diagnostics);
        if (matches.length === 0) {
            diagnostics.push(diagnostic('warning', 'smi-reference-missing', smiObject(split), `${label}: none of its matches can be used, so no request of ${where} is split by it`));
            continue;
        }
        const backends = resolveBackends(split, svc, port, lookup, diagnostics);
        if (!backends.some((b) => b.weight > 0)) {
            diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(split), `${label}: ${where}: no backend with a weight above 0 is left, so matching requests go to the Service itself`));
            continue;
        }
        const rule = { origin: label, matches, backends };
        route.rules.push(rule);
    }
    return splits;
}
function resolveBackends(split, svc, port, lookup, diagnostics) {
    const out = [];
    for (const b of split.backends) {
        const t = b.service === svc.name ? { cluster: port.id } : portTarget(svc, port, lookup, b.service);
        if ('cluster' in t) {
            const same = out.find((x) => x.cluster === t.cluster);
            if (same)
                same.weight += b.weight;
            else
                out.push({ cluster: t.cluster, weight: b.weight });
        }
        else {
            diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(split), `TrafficSplit ${split.namespace}/${split.name}: ${svc.namespace}/${svc.name} port ${port.port}: backend ${b.service}: ${t.problem}, so it gets no traffic (weight ${b.weight} dropped)`));
        }
    }
    return out;
}
/** Every usable match of the HTTPRouteGroups a split names, in order. */
function groupMatches(split, index, diagnostics) {
    const out = [];
    const label = `TrafficSplit ${split.namespace}/${split.name}`;
    for (const ref of split.matches) {
        if (ref.kind !== 'HTTPRouteGroup') {
            diagnostics.push(diagnostic('warning', 'smi-reference-missing', smiObject(split), `${label}: spec.matches names a ${ref.kind}; only HTTPRouteGroup is read, so ${ref.name} is ignored`));
            continue;
        }
        const group = index.routeGroups.get(`${split.namespace}/${ref.name}`);
        if (group === undefined) {
            diagnostics.push(diagnostic('error', 'smi-reference-missing', smiObject(split), `${label}: HTTPRouteGroup ${split.namespace}/${ref.name} does not exist, so its matches are missing from the split`));
            continue;
        }
        for (const m of group.matches) {
            const r = toHttpMatch(m);
            if (r.ok)
                out.push(r.match);
            else
                diagnostics.push(diagnostic('error', 'smi-invalid', smiObject(group), `HTTPRouteGroup ${group.namespace}/${group.name}: ${r.problem}; the match is left out`));
        }
    }
    return out;
}
