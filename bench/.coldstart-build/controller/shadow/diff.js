/**
 * What to write so the shadow Services in the mesh namespace become the desired ones. An
 * update is planned only when something hostmesh owns differs, compared after the server's
 * defaults, so writing the result and reading it back plans nothing (no write loops).
 */
import { MANAGED_BY_LABEL, SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION } from '../constants.js';
import { isShadowService } from './services.js';
function key(svc) {
    return `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
}
function portKey(p) {
    const target = typeof p.targetPort === 'string' && /^\d+$/.test(p.targetPort) ? Number(p.targetPort) : p.targetPort ?? p.port;
    return JSON.stringify([p.port, (p.protocol ?? 'TCP').toUpperCase(), p.name ?? '', target]);
}
function samePorts(a, b) {
    const ka = (a ?? []).map(portKey).toSorted();
    const kb = (b ?? []).map(portKey).toSorted();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
function sameMap(a, b) {
    const ea = Object.entries(a ?? {});
    return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => b?.[k] === v);
}
/** Whether `existing` already has every field of `desired` that hostmesh owns. */
function upToDate(desired, existing) {
    const want = (desired.spec ?? {});
    const have = (existing.spec ?? {});
    const owned = [MANAGED_BY_LABEL];
    const ownedAnnotations = [SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION];
    return (have.type ?? 'ClusterIP') === (want.type ?? 'ClusterIP')
        && (have.internalTrafficPolicy ?? 'Cluster') === (want.internalTrafficPolicy ?? 'Cluster')
        && sameMap(have.selector, want.selector)
        && samePorts(have.ports, want.ports)
        && (want.ipFamilyPolicy === undefined || have.ipFamilyPolicy === want.ipFamilyPolicy)
        && owned.every((l) => existing.metadata.labels?.[l] === desired.metadata.labels?.[l])
        && ownedAnnotations.every((a) => existing.metadata.annotations?.[a] === desired.metadata.annotations?.[a]);
}
/** `existing` with the desired owned fields written over it; everything else (ClusterIP, others' labels) kept. */
function applyDesired(desired, existing) {
    const next = structuredClone(existing);
    next.metadata.labels = { ...existing.metadata.labels, ...desired.metadata.labels };
    next.metadata.annotations = { ...existing.metadata.annotations, ...desired.metadata.annotations };
    next.spec = { ...existing.spec, ...structuredClone(desired.spec) };
    return next;
}
export function diffShadowServices(desired, existing) {
    const diff = { create: [], update: [], delete: [], conflicts: [] };
    const have = new Map(existing.map((svc) => [key(svc), svc]));
    const wanted = new Map();
    for (const svc of desired.toSorted((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))) {
        const k = key(svc);
        const first = wanted.get(k);
        if (first) {
            diff.conflicts.push({
                service: k,
                reason: `both ${first.metadata.annotations?.[SHADOW_OF_ANNOTATION]} and ${svc.metadata.annotations?.[SHADOW_OF_ANNOTATION]} want the shadow name ${k}`,
            });
            continue;
        }
        wanted.set(k, svc);
        const current = have.get(k);
        if (!current)
            diff.create.push(svc);
        else if (!isShadowService(current)) {
            diff.conflicts.push({ service: k, reason: `Service ${k} exists and is not a hostmesh shadow (no ${SHADOW_OF_ANNOTATION} annotation); it is left alone` });
        }
        else if (!upToDate(svc, current))
            diff.update.push(applyDesired(svc, current));
    }
    for (const [k, svc] of [...have].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!wanted.has(k) && isShadowService(svc))
            diff.delete.push(svc);
    }
    return diff;
}
