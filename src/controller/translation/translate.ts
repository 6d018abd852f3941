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
import { checkExpression as compileCheck } from '../../expr/index.ts';
import { serviceId } from '../../table/index.ts';
import type { ClusterEntry, DnsServiceEntry, ListenerEntry, RouteEntry, ServiceId } from '../../table/index.ts';
import type { ServiceSettings } from './annotations/settings.ts';
import { SERVICE_NAME_LABEL } from '../objects.ts';
import type { EndpointSliceObject, ServiceObject } from '../objects.ts';
import { allocatePorts } from './ports.ts';
import { cmp, diagnostic, serviceObject, sortDiagnostics } from './diagnostics.ts';
import { dnsServiceEntry } from './dns.ts';
import type { MeshedService, ServiceLookup } from './model.ts';
import { buildRoute } from './routes.ts';
import { sameEntries, translateService } from './service.ts';
import { buildIdentities } from './identities.ts';
import { smiTranslation } from './smi/index.ts';
import { gatewayTranslation } from './gateway/index.ts';
import type { RouteDependency, ServiceMemo, ServiceTranslation } from './service.ts';
import type { Diagnostic, ParsedAnnotations, TranslateInput, TranslateOptions, TranslateResult } from './types.ts';

export const DEFAULT_ZONES: readonly string[] = ['hostmesh'];
export const DEFAULT_DNS_TTL = 5;
export const DEFAULT_MESH_NAMESPACE = 'hostmesh';
export const DEFAULT_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function translate(input: TranslateInput): TranslateResult {
  const { state, memory } = input;
  // Expressions are compiled when the table is built, so a bad one is reported here (with its
  // column) and the Service keeps its last good settings; tests may inject another checker.
  const options = { ...input.options, checkExpression: input.options.checkExpression ?? compileCheck };
  const checker = options.checkExpression;
  const diagnostics: Diagnostic[] = [];
  const context = { inScope: namespaceFilter(options), checkExpression: checker };
  const slices = indexSlices(state.endpointSlices);
  const scope = scopeKey(options);
  const memoIn = memory.services && memory.services.scope === scope && memory.services.checker === checker ? memory.services.entries : undefined;
  const memoOut = new Map<ServiceId, ServiceMemo>();

  const present = new Set<ServiceId>();
  const meshed: MeshedService[] = [];
  const memos: ServiceMemo[] = [];
  const memoryOut = new Map<ServiceId, ServiceSettings>();
  const cacheIn = memory.parsed && memory.parsed.checker === checker ? memory.parsed.entries : undefined;
  const cacheOut = new Map<ServiceId, ParsedAnnotations>();
  for (const { svc, id } of uniqueServices(state.services, diagnostics)) {
    present.add(id);
    const own = slices.get(id) ?? NO_SLICES;
    const previous = memory.settings.get(id);
    const before = memoIn?.get(id);
    const memo: ServiceMemo = before && unchanged(before.service, svc, own, previous)
      ? before
      // Listeners depend on the port only (checked below): kept across a new translation.
      : { service: translateService(svc, id, own, previous, cacheIn?.get(id), context), routes: [], listeners: before?.listeners ?? [], dns: undefined };
    memoOut.set(id, memo);
    const t = memo.service;
    if (t.settings) memoryOut.set(id, t.settings);
    if (t.parsed) cacheOut.set(id, t.parsed);
    for (const d of t.diagnostics) diagnostics.push(d);
    if (t.meshed) {
      meshed.push(t.meshed);
      memos.push(memo);
    }
  }

  const byId = new Map(meshed.map((m) => [m.id, m]));
  const lookup: ServiceLookup = (namespace, name) => {
    const id = serviceId(namespace, name);
    return byId.get(id) ?? (present.has(id) ? 'not-meshed' : 'missing');
  };

  const smi = smiTranslation(state, options.acl === true, lookup, diagnostics);
  const smiActive = options.acl === true || (state.smi?.length ?? 0) > 0;
  // Gateway API routes on Services (gateway/): applied to a copy of each attached port's route.
  const gateway = gatewayTranslation(state, lookup, context.inScope);

  // A port this translation frees is quarantined like one freed earlier (unless quarantine is off).
  const allocation = allocatePorts(meshed.flatMap((m) => m.ports.map((p) => p.id)), input.ports, options.portRange, options.reservedPorts, options.portQuarantineMs === 0);
  const unallocated = new Set(allocation.unallocated);
  for (const svc of unallocated.size > 0 ? meshed : []) {
    for (const port of svc.ports) {
      if (!unallocated.has(port.id)) continue;
      diagnostics.push(diagnostic('error', 'ports-exhausted', serviceObject(svc.namespace, svc.name),
        `${svc.namespace}/${svc.name}: port ${port.port} gets no proxy port because the range ${options.portRange[0]}-${options.portRange[1]} is full, so it is not routed (widen the range or mesh fewer Services)`));
    }
  }

  const clusters: ClusterEntry[] = [];
  const routes: RouteEntry[] = [];
  const listeners: ListenerEntry[] = [];
  const dns: DnsServiceEntry[] = [];
  for (const before of memos) {
    const t = before.service;
    const svc = t.meshed!;
    // Copied only when something was rebuilt: an unchanged Service costs no allocation here.
    let memo = before;
    const own = (): ServiceMemo => memo !== before ? memo : (memo = { service: t, routes: [...before.routes], listeners: [...before.listeners], dns: before.dns });
    for (let i = 0; i < svc.ports.length; i++) {
      const port = svc.ports[i]!;
      clusters.push(t.clusters[i]!);
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
        const deps: RouteDependency[] = [];
        const made: Diagnostic[] = [];
        const entry = buildRoute(svc, port, (namespace, name) => {
          const result = lookup(namespace, name);
          deps.push({ name, result });
          return result;
        }, made);
        route = { entry, diagnostics: made, deps };
        own().routes[i] = route;
      }
      const routed = gateway.has(svc.id) && port.protocol === 'http';
      if (smiActive || routed) {
        // SMI (TrafficSplits, ACL access) and Gateway API routes rewrite routes from objects
        // outside the Service: applied to a copy of the memoized route on every translation.
        const entry = { ...route.entry };
        if (smiActive) smi.route(svc, port, entry);
        if (routed) gateway.route(svc, port, entry, diagnostics);
        routes.push(entry);
      } else routes.push(route.entry);
      for (const d of route.diagnostics) diagnostics.push(d);
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
    if (dnsEntry.entry) dns.push(dnsEntry.entry);
    if (memo !== before) memoOut.set(svc.id, memo);
  }

  smi.finish();
  const routeStatus = gateway.finish(diagnostics);

  const identities = buildIdentities(state.pods);
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
      ...(identities.length > 0 ? { identities } : {}),
    },
    memory: {
      settings: memoryOut,
      parsed: { checker, entries: cacheOut },
      services: { scope, checker, entries: memoOut },
    },
    ports: allocation.ports,
    diagnostics: sortDiagnostics(diagnostics),
    routeStatus,
  };
}

/** What the per-Service results depend on besides each Service's own inputs. */
function scopeKey(options: TranslateOptions): string {
  return JSON.stringify([options.mode, options.watchNamespaces ?? null, options.ignoreNamespaces ?? null, options.meshNamespace ?? null]);
}

/**
 * Whether a Service translates as last time: its object, slices and (when it used them) last
 * good settings are the same objects, and its annotations hold the same values (sources
 * replace changed objects, but annotations are also compared by value, as the parse cache
 * always did, so an edit made in place is seen).
 */
function unchanged(t: ServiceTranslation, svc: ServiceObject, slices: readonly EndpointSliceObject[], previous: ServiceSettings | undefined): boolean {
  return t.svc === svc
    && (!t.usesPrevious || t.previous === previous)
    && sameList(t.slices, slices)
    && (t.parsed === undefined || sameEntries(t.parsed.annotations, svc.metadata.annotations));
}

function sameAddresses(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && sameList(a, b));
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const NO_SLICES: readonly EndpointSliceObject[] = [];

function namespaceFilter(options: TranslateOptions): (namespace: string) => boolean {
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
const ids = new WeakMap<object, { namespace: string; name: string; id: ServiceId }>();

function idOf(o: object, namespace: string, name: string): ServiceId {
  const c = ids.get(o);
  if (c !== undefined && c.namespace === namespace && c.name === name) return c.id;
  const id = serviceId(namespace, name);
  ids.set(o, { namespace, name, id });
  return id;
}

/** EndpointSlices by the `namespace/name` of the Service their label names, in name order. */
function indexSlices(slices: readonly EndpointSliceObject[]): Map<ServiceId, EndpointSliceObject[]> {
  const out = new Map<ServiceId, EndpointSliceObject[]>();
  for (const slice of slices) {
    const owner = slice?.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (typeof owner !== 'string' || typeof slice.metadata.name !== 'string') continue;
    const id = idOf(slice, slice.metadata.namespace || 'default', owner);
    const list = out.get(id);
    if (list === undefined) out.set(id, [slice]);
    else list.push(slice);
  }
  for (const [id, list] of out) if (list.length > 1) out.set(id, list.toSorted((a, b) => cmp(a.metadata.name, b.metadata.name)));
  return out;
}

/** Well-formed Services with their ids sorted by namespace and name; a repeated one is reported and dropped. */
function uniqueServices(services: readonly ServiceObject[], diagnostics: Diagnostic[]): { svc: ServiceObject; id: ServiceId }[] {
  const seen = new Set<ServiceId>();
  const out: { svc: ServiceObject; id: ServiceId }[] = [];
  for (const svc of services) {
    const name = svc?.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    const namespace = svc.metadata.namespace || 'default';
    const id = idOf(svc, namespace, name);
    if (seen.has(id)) {
      diagnostics.push(diagnostic('warning', 'service-duplicate', serviceObject(namespace, name), `${id}: the Service is defined more than once; the first definition is used`));
      continue;
    }
    seen.add(id);
    out.push({ svc, id });
  }
  const order = (a: { svc: ServiceObject }, b: { svc: ServiceObject }): number =>
    cmp(a.svc.metadata.namespace || 'default', b.svc.metadata.namespace || 'default') || cmp(a.svc.metadata.name, b.svc.metadata.name);
  // Sources hand over sorted lists: check before sorting.
  for (let i = 1; i < out.length; i++) if (order(out[i - 1]!, out[i]!) > 0) return out.toSorted(order);
  return out;
}
