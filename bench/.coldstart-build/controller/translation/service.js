/**
 * One Service -> its part of the table, as a pure function of the Service object, its
 * EndpointSlices, its last good settings and the translation's options: the annotations
 * parsed into settings, the ports that are meshed with their endpoints, one cluster entry per
 * meshed port, and the Service's own diagnostics. translate() calls it only for Services whose
 * inputs changed since the previous translation (see ServiceMemo in translate.ts), so one
 * EndpointSlice change re-translates one Service, not the cluster.
 */
import { portId } from '../../table/index.js';
import { parseServiceAnnotations } from './annotations/parse.js';
import { defaultSettings } from './annotations/settings.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../constants.js';
import { diagnostic, quote, serviceObject } from './diagnostics.js';
import { resolveEndpoints } from './endpoints.js';
import { buildCluster } from './routes.js';
const NONE = [];
/**
 * Translates one Service. `cached` is its previous parse (reused when the annotations are the
 * same); `previous` its last good settings.
 */
export function translateService(svc, id, slices, previous, cached, context) {
    const namespace = svc.metadata.namespace || 'default';
    const name = svc.metadata.name;
    const out = { svc, slices, previous };
    if (!context.inScope(namespace) || svc.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
        return { ...out, usesPrevious: false, parsed: undefined, settings: undefined, meshed: undefined, clusters: NONE, diagnostics: NONE };
    }
    const label = `${namespace}/${name}`;
    const object = serviceObject(namespace, name);
    const annotations = svc.metadata.annotations;
    let entry;
    if (cached && sameEntries(cached.annotations, annotations))
        entry = cached;
    else {
        const result = parseServiceAnnotations({ namespace, name }, annotations, { checkExpression: context.checkExpression });
        entry = { annotations: annotations ? { ...annotations } : undefined, result };
    }
    const parsed = entry.result;
    const diagnostics = [];
    const done = (settings, meshed) => ({
        ...out,
        usesPrevious: parsed.settings === undefined || settings !== parsed.settings,
        parsed: entry,
        settings,
        meshed,
        clusters: meshed ? meshed.ports.map((p) => buildCluster(meshed, p)) : NONE,
        diagnostics: diagnostics.length === 0 ? NONE : diagnostics,
    });
    const skip = skipReason(svc);
    if (skip) {
        if (parsed.annotated)
            diagnostics.push(diagnostic('info', 'service-skipped', object, `${label}: ${skip}, so it is not meshed and its mesh annotations are ignored`));
        return done(previous);
    }
    if (parsed.mesh === false)
        return done(previous);
    // The API server's Service: clients speak TLS to it with its own certificates and
    // long-lived watches; meshing it as HTTP only gets in the way. Opt in with mesh: "true".
    if (namespace === 'default' && name === 'kubernetes' && parsed.mesh !== true)
        return done(previous);
    diagnostics.push(...parsed.diagnostics);
    let settings;
    let remembered = previous;
    if (parsed.settings) {
        settings = parsed.settings;
        remembered = settings;
    }
    else {
        settings = previous ?? defaultSettings();
        if (parsed.mesh !== undefined && parsed.mesh !== settings.mesh)
            settings = { ...settings, mesh: parsed.mesh };
        diagnostics.push(diagnostic('warning', 'settings-last-good', object, previous
            ? `${label}: because of the invalid annotation(s), the Service keeps its last valid settings until they are fixed`
            : `${label}: because of the invalid annotation(s), the Service uses the default settings until they are fixed`));
    }
    if (!settings.mesh)
        return done(remembered);
    const ports = meshedPorts(svc, namespace, name, settings, slices, object, diagnostics);
    if (ports.length === 0)
        return done(remembered);
    return done(remembered, { id, namespace, name, settings, ports });
}
function skipReason(svc) {
    if (svc.spec?.type === 'ExternalName')
        return 'it is an ExternalName Service';
    if (!Array.isArray(svc.spec?.ports) || svc.spec.ports.length === 0)
        return 'it has no ports';
    return undefined;
}
/** The Service's ports that can be meshed, with their protocol and ready endpoints. */
function meshedPorts(svc, namespace, name, settings, slices, object, diagnostics) {
    const label = `${namespace}/${name}`;
    const out = [];
    const ignoredOn = [];
    for (const sp of svc.spec?.ports ?? []) {
        const spec = portSpec(sp);
        if (typeof spec === 'string') {
            diagnostics.push(diagnostic('warning', 'port-invalid', object, `${label}: ${spec}; the port is not meshed`));
            continue;
        }
        if (spec.protocol !== 'TCP' && spec.protocol !== 'UDP') {
            diagnostics.push(diagnostic('warning', 'port-protocol-unsupported', object, `${label}: port ${spec.port} uses ${spec.protocol}; hostmesh carries TCP and UDP only, so it is not meshed`));
            continue;
        }
        if (out.some((p) => p.port === spec.port)) {
            diagnostics.push(diagnostic('warning', 'port-duplicate', object, `${label}: port ${spec.port}/${spec.protocol} has the same number as an earlier port of the Service, and routes are identified by port number, so only the earlier one is meshed`));
            continue;
        }
        const protocol = protocolOf(spec, settings, label, object, diagnostics);
        const { endpoints, problems } = resolveEndpoints(spec, slices);
        for (const p of problems) {
            diagnostics.push(p.kind === 'port-unresolved'
                ? diagnostic('warning', 'port-unresolved', object, `${label}: port ${spec.port}: EndpointSlice ${namespace}/${p.slice} ${p.message}; its endpoints are not used for this port`)
                : diagnostic('warning', 'endpoint-invalid', { kind: 'EndpointSlice', namespace, name: p.slice }, `${namespace}/${p.slice}: ${p.message}; they are skipped`));
        }
        const port = { id: portId(namespace, name, spec.port), name: spec.name, port: spec.port, protocol, endpoints };
        if (typeof sp.appProtocol === 'string')
            port.appProtocol = sp.appProtocol;
        if (protocol !== 'http')
            ignoredOn.push(`${spec.port}/${protocol}`);
        out.push(port);
    }
    if (ignoredOn.length > 0 && settings.httpOnlyKeys.length > 0) {
        diagnostics.push(diagnostic('warning', 'annotation-ignored', object, `${label}: ${settings.httpOnlyKeys.join(', ')} ${settings.httpOnlyKeys.length === 1 ? 'applies' : 'apply'} to http traffic only and ${settings.httpOnlyKeys.length === 1 ? 'is' : 'are'} ignored on port ${ignoredOn.join(', ')}`));
    }
    return out.toSorted((a, b) => a.port - b.port);
}
/** A checked Service port, or why it cannot be used. */
function portSpec(sp) {
    const n = sp?.port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
        return `port ${quote(String(n))} is not a port number`;
    const target = sp.targetPort ?? n;
    const validTarget = typeof target === 'number' ? Number.isInteger(target) && target >= 1 && target <= 65535 : typeof target === 'string' && target !== '';
    if (!validTarget)
        return `port ${n}: targetPort ${quote(String(target))} is neither a port number nor a port name`;
    return {
        name: typeof sp.name === 'string' ? sp.name : '',
        port: n,
        targetPort: target,
        protocol: typeof sp.protocol === 'string' ? sp.protocol.toUpperCase() : 'TCP',
    };
}
/** UDP ports are udp whatever the annotation says; TCP ports follow traffic-type (default http). */
function protocolOf(spec, settings, label, object, diagnostics) {
    const wanted = settings.trafficType;
    if (spec.protocol === 'UDP') {
        if (wanted !== undefined && wanted !== 'udp') {
            diagnostics.push(diagnostic('warning', 'port-protocol-mismatch', object, `${label}: port ${spec.port} is UDP, so it is served as udp although traffic-type is ${wanted}`));
        }
        return 'udp';
    }
    if (wanted === 'udp') {
        diagnostics.push(diagnostic('warning', 'port-protocol-mismatch', object, `${label}: port ${spec.port} is TCP, so it is served as tcp although traffic-type is udp (set protocol: UDP on the port)`));
        return 'tcp';
    }
    return wanted ?? 'http';
}
/** Whether two annotation maps hold the same keys and values. */
export function sameEntries(a, b) {
    if (a === undefined || b === undefined)
        return a === b;
    let count = 0;
    for (const k in b) {
        if (!Object.hasOwn(b, k))
            continue;
        if (!Object.hasOwn(a, k) || a[k] !== b[k])
            return false;
        count++;
    }
    return count === Object.keys(a).length;
}
