/**
 * Cluster objects -> routing table: the one pure function both sources (manifest directory,
 * Kubernetes informers) call after every change.
 *
 * Each Service's annotations apply all together or not at all: a Service with an invalid one
 * keeps its last good settings (from `memory`) or the defaults, stays in the mesh, and its
 * endpoints still update. Output is sorted so equal inputs give byte-identical tables.
 *
 * Incremental: `memory.services` holds, per Service, what it was translated from and into
 * (service.ts) and the route, listener and DNS entries built from that. A Service whose inputs
 * are the same objects as last time is not translated again, and its entries are the same
 * objects, so one EndpointSlice change costs one Service's translation plus a pass of map
 * look-ups, and the publisher (which compares resources by identity first) hashes only what
 * was rebuilt. The memo never changes the output: translating with or without it gives equal
 * results (test/controller/translate-incremental.test.ts).
 */
import { checkExpression as compileCheck } from '../../expr/index.js';
import { serviceId } from '../../table/index.js';
import { SERVICE_NAME_LABEL } from '../objects.js';
import { allocatePorts } from './ports.js';
import { cmp, diagnostic, serviceObject, sortDiagnostics } from './diagnostics.js';
import { dnsServiceEntry } from './dns.js';
import { buildRoute } from './routes.js';
import { sameEntries, translateService } from './service.js';
import { smiTranslation } from './smi/index.js';
export const DEFAULT_ZONES = ['hostmesh'];
export const DEFAULT_DNS_TTL = 5;
export const DEFAULT_MESH_NAMESPACE = 'hostmesh';
export const DEFAULT_IGNORED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];
export function translate(input) {
    const { state, memory } = input;
    // Expressions are compiled when the table is built, so a bad one is reported here (with its
    // column) and the Service keeps its last good settings; tests may inject another checker.
    const options = { ...input.options, checkExpression: input.options.checkExpression ?? compileCheck };
    const checker = options.checkExpression;
    const diagnostics = [];
    const context = { inScope: namespaceFilter(options), checkExpression: checker };
    const slices = indexSlices(state.endpointSlices);
    const scope = scopeKey(options);
    const memoIn = memory.services && memory.services.scope === scope && memory.services.checker === checker ? memory.services.entries : undefined;
    const memoOut = new Map();
    const present = new Set();
    const meshed = [];
    const memos = [];
    const memoryOut = new Map();
    const cacheIn = memory.parsed && memory.parsed.checker === checker ? memory.parsed.entries : undefined;
    const cacheOut = new Map();
    for (const { svc, id } of uniqueServices(state.services, diagnostics)) {
        present.add(id);
        const own = slices.get(id) ?? NO_SLICES;
        const previous = memory.settings.get(id);
        const before = memoIn?.get(id);
        const memo = before && unchanged(before.service, svc, own, previous)
            ? before
            // Listeners depend on the port only (checked below): kept across a new translation.
            : { service: translateService(svc, id, own, previous, cacheIn?.get(id), context), routes: [], listeners: before?.listeners ?? [], dns: undefined };
        memoOut.set(id, memo);
        const t = memo.service;
        if (t.settings)
            memoryOut.set(id, t.settings);
        if (t.parsed)
            cacheOut.set(id, t.parsed);
        for (const d of t.diagnostics)
            diagnostics.push(d);
        if (t.meshed) {
            meshed.push(t.meshed);
            memos.push(memo);
        }
    }
    const byId = new Map(meshed.map((m) => [m.id, m]));
    const lookup = (namespace, name) => {
        const id = serviceId(namespace, name);
        return byId.get(id) ?? (present.has(id) ? 'not-meshed' : 'missing');
    };
    const smi = smiTranslation(state, options.acl === true, lookup, diagnostics);
    const smiActive = options.acl === true || (state.smi?.length ?? 0) > 0;
    const allocation = allocatePorts(meshed.flatMap((m) => m.ports.map((p) => p.id)), input.ports, options.portRange, options.reservedPorts);
    const unallocated = new Set(allocation.unallocated);
    for (const svc of unallocated.size > 0 ? meshed : []) {
        for (const port of svc.ports) {
            if (!unallocated.has(port.id))
                continue;
            diagnostics.push(diagnostic('error', 'ports-exhausted', serviceObject(svc.namespace, svc.name), `${svc.namespace}/${svc.name}: port ${port.port} gets no proxy port because the range ${options.portRange[0]}-${options.portRange[1]} is full, so it is not routed (widen the range or mesh fewer Services)`));
        }
    }
    const clusters = [];
    const routes = [];
    const listeners = [];
    const dns = [];
    for (const before of memos) {
        const t = before.service;
        const svc = t.meshed;
        // Copied only when something was rebuilt: an unchanged Service costs no allocation here.
        let memo = before;
        const own = () => memo !== before ? memo : (memo = { service: t, routes: [...before.routes], listeners: [...before.listeners], dns: before.dns });
        for (let i = 0; i < svc.ports.length; i++) {
            const port = svc.ports[i];
            clusters.push(t.clusters[i]);
            const listenPort = allocation.ports.get(port.id);
            if (listenPort === undefined) {
                if (before.routes[i] !== undefined || before.listeners[i] !== undefined) {
                    own().routes[i] = undefined;
                    own().listeners[i] = undefined;
                }
                continue;
            }
            // A route reads other Services only through lookup (split and mirror targets): it is
            // reused while each Service it looked up resolves to the same object.
            let route = before.routes[i];
            if (route === undefined || !route.deps.every((d) => lookup(svc.namespace, d.name) === d.result)) {
                const deps = [];
                const made = [];
                const entry = buildRoute(svc, port, (namespace, name) => {
                    const result = lookup(namespace, name);
                    deps.push({ name, result });
                    return result;
                }, made);
                route = { entry, diagnostics: made, deps };
                own().routes[i] = route;
            }
            if (smiActive) {
                // SMI (TrafficSplits, ACL access) rewrites routes from objects outside the Service:
                // applied to a copy of the memoized route on every translation.
                const entry = { ...route.entry };
                smi.route(svc, port, entry);
                routes.push(entry);
            }
            else
                routes.push(route.entry);
            for (const d of route.diagnostics)
                diagnostics.push(d);
            let listener = before.listeners[i];
            if (listener?.port !== listenPort || listener.route !== port.id || listener.protocol !== port.protocol) {
                listener = { port: listenPort, protocol: port.protocol, route: port.id };
                own().listeners[i] = listener;
            }
            listeners.push(listener);
        }
        const addresses = options.mode === 'standalone' ? undefined : options.shadowAddresses?.get(svc.id);
        let dnsEntry = before.dns;
        if (dnsEntry === undefined || memo !== before || !sameAddresses(dnsEntry.addresses, addresses)) {
            dnsEntry = { addresses, entry: dnsServiceEntry(svc, allocation.ports, options.mode, addresses) };
            own().dns = dnsEntry;
        }
        if (dnsEntry.entry)
            dns.push(dnsEntry.entry);
        if (memo !== before)
            memoOut.set(svc.id, memo);
    }
    smi.finish();
    return {
        content: {
            dns: {
                zones: [...(options.zones ?? DEFAULT_ZONES)],
                ttl: options.dnsTtl ?? DEFAULT_DNS_TTL,
                services: dns,
            },
            listeners: listeners.toSorted((a, b) => a.port - b.port),
            routes,
            clusters,
        },
        memory: {
            settings: memoryOut,
            parsed: { checker, entries: cacheOut },
            services: { scope, checker, entries: memoOut },
        },
        ports: allocation.ports,
        diagnostics: sortDiagnostics(diagnostics),
    };
}
/** What the per-Service results depend on besides each Service's own inputs. */
function scopeKey(options) {
    return JSON.stringify([options.mode, options.watchNamespaces ?? null, options.ignoreNamespaces ?? null, options.meshNamespace ?? null]);
}
/**
 * Whether a Service translates as last time: its object, slices and (when it used them) last
 * good settings are the same objects, and its annotations hold the same values (sources
 * replace changed objects, but annotations are also compared by value, as the parse cache
 * always did, so an edit made in place is seen).
 */
function unchanged(t, svc, slices, previous) {
    return t.svc === svc
        && (!t.usesPrevious || t.previous === previous)
        && sameList(t.slices, slices)
        && (t.parsed === undefined || sameEntries(t.parsed.annotations, svc.metadata.annotations));
}
function sameAddresses(a, b) {
    return a === b || (a !== undefined && b !== undefined && sameList(a, b));
}
function sameList(a, b) {
    if (a === b)
        return true;
    if (a.length !== b.length)
        return false;
    for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i])
            return false;
    return true;
}
const NO_SLICES = [];
function namespaceFilter(options) {
    const ignored = new Set([...(options.ignoreNamespaces ?? DEFAULT_IGNORED_NAMESPACES), options.meshNamespace ?? DEFAULT_MESH_NAMESPACE]);
    const watched = options.watchNamespaces ? new Set(options.watchNamespaces) : undefined;
    return (ns) => !ignored.has(ns) && (watched === undefined || watched.has(ns));
}
/**
 * serviceId(namespace, name) for an object, the same string each time while the object and
 * those fields are the same: Map look-ups with a string whose hash is already computed are
 * several times cheaper than with a new one, and translation does five per Service. A cache of
 * a pure function (the fields are checked), so it does not affect the output.
 */
const ids = new WeakMap();
function idOf(o, namespace, name) {
    const c = ids.get(o);
    if (c !== undefined && c.namespace === namespace && c.name === name)
        return c.id;
    const id = serviceId(namespace, name);
    ids.set(o, { namespace, name, id });
    return id;
}
/** EndpointSlices by the `namespace/name` of the Service their label names, in name order. */
function indexSlices(slices) {
    const out = new Map();
    for (const slice of slices) {
        const owner = slice?.metadata?.labels?.[SERVICE_NAME_LABEL];
        if (typeof owner !== 'string' || typeof slice.metadata.name !== 'string')
            continue;
        const id = idOf(slice, slice.metadata.namespace || 'default', owner);
        const list = out.get(id);
        if (list === undefined)
            out.set(id, [slice]);
        else
            list.push(slice);
    }
    for (const [id, list] of out)
        if (list.length > 1)
            out.set(id, list.toSorted((a, b) => cmp(a.metadata.name, b.metadata.name)));
    return out;
}
/** Well-formed Services with their ids sorted by namespace and name; a repeated one is reported and dropped. */
function uniqueServices(services, diagnostics) {
    const seen = new Set();
    const out = [];
    for (const svc of services) {
        const name = svc?.metadata?.name;
        if (typeof name !== 'string' || name === '')
            continue;
        const namespace = svc.metadata.namespace || 'default';
        const id = idOf(svc, namespace, name);
        if (seen.has(id)) {
            diagnostics.push(diagnostic('warning', 'service-duplicate', serviceObject(namespace, name), `${id}: the Service is defined more than once; the first definition is used`));
            continue;
        }
        seen.add(id);
        out.push({ svc, id });
    }
    const order = (a, b) => cmp(a.svc.metadata.namespace || 'default', b.svc.metadata.namespace || 'default') || cmp(a.svc.metadata.name, b.svc.metadata.name);
    // Sources hand over sorted lists: check before sorting.
    for (let i = 1; i < out.length; i++)
        if (order(out[i - 1], out[i]) > 0)
            return out.toSorted(order);
    return out;
}
