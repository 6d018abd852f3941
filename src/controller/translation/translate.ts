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
import type { ClusterEntry, DnsServiceEntry, ListenerEntry, RouteEntry, ServiceId, TableContent } from '../../table/index.ts';
import type { ServiceSettings } from './annotations/settings.ts';
import { SERVICE_NAME_LABEL } from '../objects.ts';
import type { EndpointSliceObject, ServiceObject } from '../objects.ts';
import { allocatePorts } from './ports.ts';
import { cmp, diagnostic, serviceObject, sortDiagnostics } from './diagnostics.ts';
import type { MeshedService, ServiceLookup } from './model.ts';
import { buildEntries, idOf, NO_SLICES, translateService, unchanged } from './service.ts';
import { gatewayPresent, translateChanges } from './incremental.ts';
import type { EntryPositions } from './incremental.ts';
import { buildIdentities } from './identities.ts';
import { smiTranslation } from './smi/index.ts';
import { gatewayTranslation } from './gateway/index.ts';
import type { EntryContext, ServiceMemo } from './service.ts';
import type { Diagnostic, ParsedAnnotations, TranslateInput, TranslateOptions, TranslateResult } from './types.ts';

export const DEFAULT_ZONES: readonly string[] = ['hostmesh'];
export const DEFAULT_DNS_TTL = 5;
export const DEFAULT_MESH_NAMESPACE = 'hostmesh';
export const DEFAULT_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function translate(input: TranslateInput): TranslateResult {
  // Expressions are compiled when the table is built, so a bad one is reported here (with its
  // column) and the Service keeps its last good settings; tests may inject another checker.
  const options = { ...input.options, checkExpression: input.options.checkExpression ?? compileCheck };
  const patched = input.changes === undefined ? undefined : translateChanges(input, input.changes, options, namespaceFilter(options));
  if (patched !== undefined) return patched;
  const { state, memory } = input;
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
  const unique = uniqueServices(state.services, diagnostics);
  // A repeated Service is reported once per translation: only a full one knows.
  const duplicates = diagnostics.length > 0;
  for (const { svc, id } of unique) {
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
  const entryContext: EntryContext = { ports: allocation.ports, lookup, mode: options.mode, shadowAddresses: options.shadowAddresses };
  // Where each Service's entries sit, and how many routes read other Services: what a
  // change-hinted translation (incremental.ts) needs to patch this one's output in place.
  const at = new Map<ServiceId, EntryPositions>();
  let dependencies = 0;
  for (const before of memos) {
    const memo = buildEntries(before, entryContext);
    const t = memo.service;
    const svc = t.meshed!;
    const position = { cluster: clusters.length, route: routes.length, dns: -1 };
    for (let i = 0; i < svc.ports.length; i++) {
      const port = svc.ports[i]!;
      clusters.push(t.clusters[i]!);
      const route = memo.routes[i];
      if (route === undefined) continue;
      if (route.deps.length > 0) dependencies++;
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
      listeners.push(memo.listeners[i]!);
    }
    const dnsEntry = memo.dns?.entry;
    if (dnsEntry) {
      position.dns = dns.length;
      dns.push(dnsEntry);
    }
    at.set(svc.id, position);
    if (memo !== before) memoOut.set(svc.id, memo);
  }

  smi.finish();
  const routeStatus = gateway.finish(diagnostics);

  const identities = buildIdentities(state.pods);
  const content: TableContent = {
    dns: {
      zones: [...(options.zones ?? DEFAULT_ZONES)],
      ttl: options.dnsTtl ?? DEFAULT_DNS_TTL,
      services: dns,
    },
    listeners: listeners.toSorted((a, b) => a.port - b.port),
    routes,
    clusters,
    ...(identities.length > 0 ? { identities } : {}),
  };
  const sortedDiagnostics = sortDiagnostics(diagnostics);
  return {
    content,
    memory: {
      settings: memoryOut,
      parsed: { checker, entries: cacheOut },
      services: { scope, checker, entries: memoOut },
      last: {
        live: true,
        state,
        options,
        ports: allocation.ports,
        content,
        diagnostics: sortedDiagnostics,
        at,
        // Routes rewritten from objects outside their Service, read from other Services or
        // left without a port: only a full translation sees everything that moves them.
        patchable: !duplicates && !smiActive && routeStatus.length === 0 && !gatewayPresent(state) && dependencies === 0 && unallocated.size === 0,
      },
    },
    ports: allocation.ports,
    diagnostics: sortedDiagnostics,
    routeStatus,
  };
}

/** What the per-Service results depend on besides each Service's own inputs. */
function scopeKey(options: TranslateOptions): string {
  return JSON.stringify([options.mode, options.watchNamespaces ?? null, options.ignoreNamespaces ?? null, options.meshNamespace ?? null]);
}

function namespaceFilter(options: TranslateOptions): (namespace: string) => boolean {
  const ignored = new Set([...(options.ignoreNamespaces ?? DEFAULT_IGNORED_NAMESPACES), options.meshNamespace ?? DEFAULT_MESH_NAMESPACE]);
  const watched = options.watchNamespaces ? new Set(options.watchNamespaces) : undefined;
  return (ns) => !ignored.has(ns) && (watched === undefined || watched.has(ns));
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
