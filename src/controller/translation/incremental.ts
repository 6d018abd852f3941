/**
 * A translation told what changed (a source's `ClusterChange`): the last translation's output
 * patched for the Services the change touches, so an EndpointSlice change costs that Service's
 * translation and a copy of a few arrays, not a pass over every Service.
 *
 * It patches only what keeps the table's shape: the touched Services keep their meshed ports
 * (same ids and protocols, so the port allocation and the listeners stay), their diagnostics
 * and their DNS entry's presence; no route anywhere reads another Service (splits, mirrors),
 * and no SMI or Gateway API object exists. Anything else returns undefined and translate()
 * does a full translation, which is also the reference: both give equal output
 * (test/controller/translate-incremental.test.ts).
 */
import type { ContentChanges, DnsServiceEntry, PortId, RouteEntry, ServiceId, TableContent } from '../../table/index.ts';
import { SERVICE_NAME_LABEL } from '../objects.ts';
import type { ClusterChange, ClusterState, EndpointSliceObject, ServiceObject } from '../objects.ts';
import { cmp } from './diagnostics.ts';
import { buildIdentities, patchIdentities } from './identities.ts';
import { buildEntries, idOf, NO_SLICES, translateService, unchanged } from './service.ts';
import type { ServiceMemo, ServiceTranslation } from './service.ts';
import type { ServiceSettings } from './annotations/settings.ts';
import type { Diagnostic, ParsedAnnotations, TranslateInput, TranslateOptions, TranslateResult } from './types.ts';

/** Where one meshed Service's entries sit in a translation's output (dns -1: it has none). */
export interface EntryPositions {
  cluster: number;
  route: number;
  dns: number;
}

/** What a full or patching translation leaves for the next one to patch. */
export interface LastTranslation {
  /** False once a later translation used (and updated) the maps of this memory. */
  live: boolean;
  readonly state: ClusterState;
  readonly options: TranslateOptions;
  readonly ports: ReadonlyMap<PortId, number>;
  readonly content: TableContent;
  readonly diagnostics: Diagnostic[];
  readonly at: ReadonlyMap<ServiceId, EntryPositions>;
  /** Whether a change can be patched at all (see the file comment). */
  readonly patchable: boolean;
}

/** Whether Gateway API routes (or grants) exist: they rewrite routes from outside their Service. */
export function gatewayPresent(state: ClusterState): boolean {
  return (state.httpRoutes?.length ?? 0) + (state.grpcRoutes?.length ?? 0) + (state.referenceGrants?.length ?? 0) > 0;
}

/** The options that shape a translation's output, compared with the last one's. */
function sameOptions(a: TranslateOptions, b: TranslateOptions): boolean {
  const sameSet = (x: ReadonlySet<number> | undefined, y: ReadonlySet<number> | undefined): boolean =>
    x === y || ((x?.size ?? 0) === (y?.size ?? 0) && [...(x ?? [])].every((p) => y?.has(p) === true));
  const sameArray = <T>(x: readonly T[] | undefined, y: readonly T[] | undefined): boolean =>
    x === y || (x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]));
  return a.mode === b.mode && a.portRange[0] === b.portRange[0] && a.portRange[1] === b.portRange[1]
    && sameSet(a.reservedPorts, b.reservedPorts) && sameArray(a.zones, b.zones) && a.dnsTtl === b.dnsTtl
    && sameArray(a.watchNamespaces, b.watchNamespaces) && sameArray(a.ignoreNamespaces, b.ignoreNamespaces)
    && a.meshNamespace === b.meshNamespace && a.shadowAddresses === b.shadowAddresses && a.acl === b.acl
    && a.checkExpression === b.checkExpression;
}

function ownerOf(slice: EndpointSliceObject | undefined): ServiceId | undefined {
  const owner = slice?.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (slice === undefined || typeof owner !== 'string' || typeof slice.metadata.name !== 'string') return undefined;
  return idOf(slice, slice.metadata.namespace || 'default', owner);
}

/** A Service's slices after `changes` (in name order), or undefined when they do not follow from `slices`. */
function patchSlices(slices: readonly EndpointSliceObject[], id: ServiceId, changes: ClusterChange['endpointSlices']): readonly EndpointSliceObject[] | undefined {
  let out: EndpointSliceObject[] | undefined;
  for (const { before, after } of changes) {
    const from = ownerOf(before) === id;
    const to = ownerOf(after) === id;
    if (!from && !to) continue;
    out ??= [...slices];
    if (from) {
      const i = out.indexOf(before!);
      if (i < 0) return undefined;
      out.splice(i, 1);
    }
    if (to) out.push(after!);
  }
  if (out === undefined) return slices;
  if (out.length === 0) return NO_SLICES;
  return out.toSorted((a, b) => cmp(a.metadata.name, b.metadata.name));
}

/** The Service `id` in a list sorted by namespace and name; undefined when absent; 'ambiguous' when repeated. */
function findService(services: readonly ServiceObject[], id: ServiceId): ServiceObject | 'ambiguous' | undefined {
  const slash = id.indexOf('/');
  const namespace = id.slice(0, slash);
  const name = id.slice(slash + 1);
  const order = (s: ServiceObject): number => cmp(s.metadata.namespace || 'default', namespace) || cmp(s.metadata.name, name);
  let lo = 0;
  let hi = services.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = order(services[mid]!);
    if (o < 0) lo = mid + 1;
    else if (o > 0) hi = mid - 1;
    else {
      const twice = (mid > 0 && order(services[mid - 1]!) === 0) || (mid + 1 < services.length && order(services[mid + 1]!) === 0);
      return twice ? 'ambiguous' : services[mid];
    }
  }
  return undefined;
}

const sameDiagnostics = (a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean =>
  a === b || (a.length === b.length && JSON.stringify(a) === JSON.stringify(b));

/** A touched Service: its memo before and after, with the translation's memory entries. */
interface Update {
  id: ServiceId;
  memo: ServiceMemo;
  changed: boolean;
}

/**
 * The last translation patched with `change`, or undefined when it does not fit (see the file
 * comment). `options` are the input's with the expression checker filled in; `inScope` their namespace filter.
 */
export function translateChanges(input: TranslateInput, change: ClusterChange, options: TranslateOptions, inScope: (namespace: string) => boolean): TranslateResult | undefined {
  const { state, memory } = input;
  const last = memory.last;
  const memoIn = memory.services?.entries;
  const parsedIn = memory.parsed?.entries;
  if (last === undefined || !last.live || !last.patchable || change.base !== last.state || memoIn === undefined || parsedIn === undefined) return undefined;
  if (input.ports !== last.ports || !sameOptions(last.options, options) || gatewayPresent(state) || (state.smi?.length ?? 0) > 0) return undefined;

  const touched = new Set<ServiceId>(change.services);
  for (const { before, after } of change.endpointSlices) {
    for (const slice of [before, after]) {
      const owner = ownerOf(slice);
      if (owner !== undefined) touched.add(owner);
    }
  }
  const checker = options.checkExpression!;
  const context = { inScope, checkExpression: checker };
  let looked = false;
  const entryContext = {
    ports: last.ports,
    // No route read another Service (patchable): one that starts to needs a full translation.
    lookup: () => {
      looked = true;
      return 'missing' as const;
    },
    mode: options.mode,
    shadowAddresses: options.shadowAddresses,
  };
  const updates: Update[] = [];
  const settingsOut = new Map<ServiceId, ServiceSettings | undefined>();
  const parsedOut = new Map<ServiceId, ParsedAnnotations | undefined>();
  for (const id of touched) {
    const before = memoIn.get(id);
    const svc = findService(state.services, id);
    if (svc === 'ambiguous') return undefined;
    if (before === undefined) {
      // Slices of a Service that does not exist change nothing; a new Service moves ports.
      if (svc === undefined) continue;
      return undefined;
    }
    if (svc === undefined) return undefined;
    const slices = patchSlices(before.service.slices, id, change.endpointSlices);
    if (slices === undefined) return undefined;
    const previous = memory.settings.get(id);
    const t: ServiceTranslation = unchanged(before.service, svc, slices, previous)
      ? before.service
      : translateService(svc, id, slices, previous, parsedIn.get(id), context);
    if (!sameShape(before.service, t)) return undefined;
    let memo = t === before.service ? before : { service: t, routes: [], listeners: before.listeners, dns: undefined };
    if (t.meshed) {
      memo = buildEntries(memo, entryContext);
      if (looked || !sameRoutes(before, memo)) return undefined;
    }
    if (memo !== before) {
      updates.push({ id, memo, changed: true });
      settingsOut.set(id, t.settings);
      parsedOut.set(id, t.parsed);
    }
  }

  // From here on nothing falls back: the memory's maps are updated in place.
  last.live = false;
  const services = memoIn as Map<ServiceId, ServiceMemo>;
  const settings = memory.settings as Map<ServiceId, ServiceSettings>;
  const parsed = parsedIn as Map<ServiceId, ParsedAnnotations>;
  const base = last.content;
  let clusters = base.clusters;
  let routes = base.routes;
  let dns = base.dns.services;
  const changed: { clusters: typeof clusters; routes: RouteEntry[]; dnsServices: DnsServiceEntry[] } = { clusters: [], routes: [], dnsServices: [] };
  for (const { id, memo } of updates) {
    services.set(id, memo);
    const s = settingsOut.get(id);
    if (s === undefined) settings.delete(id);
    else settings.set(id, s);
    const p = parsedOut.get(id);
    if (p === undefined) parsed.delete(id);
    else parsed.set(id, p);
    const t = memo.service;
    const position: EntryPositions | undefined = last.at.get(id);
    if (t.meshed === undefined || position === undefined) continue;
    let route = position.route;
    for (let i = 0; i < t.meshed.ports.length; i++) {
      const k = position.cluster + i;
      if (clusters[k] !== t.clusters[i]) {
        if (clusters === base.clusters) clusters = [...clusters];
        clusters[k] = t.clusters[i]!;
        changed.clusters.push(t.clusters[i]!);
      }
      const entry = memo.routes[i]?.entry;
      if (entry === undefined) continue;
      if (routes[route] !== entry) {
        if (routes === base.routes) routes = [...routes];
        routes[route] = entry;
        changed.routes.push(entry);
      }
      route++;
    }
    const entry = memo.dns?.entry;
    if (entry !== undefined && position.dns >= 0 && dns[position.dns] !== entry) {
      if (dns === base.dns.services) dns = [...dns];
      dns[position.dns] = entry;
      changed.dnsServices.push(entry);
    }
  }
  // A pod change usually moves no address (a readiness flip): then the map is the same array.
  const identities = !change.pods ? base.identities ?? []
    : change.podChanges === undefined ? buildIdentities(state.pods) : patchIdentities(change.base.pods, state.pods, change.podChanges);
  const sameIdentities = identities === (base.identities ?? identities) && (identities.length > 0) === (base.identities !== undefined);
  const content: TableContent = clusters === base.clusters && routes === base.routes && dns === base.dns.services && sameIdentities ? base : {
    dns: dns === base.dns.services ? base.dns : { ...base.dns, services: dns },
    listeners: base.listeners,
    routes,
    clusters,
    ...(identities.length > 0 ? { identities } : {}),
  };
  return {
    content,
    memory: {
      settings,
      parsed: { checker, entries: parsed },
      services: { scope: memory.services!.scope, checker, entries: services },
      last: { ...last, live: true, state, options, content },
    },
    ports: last.ports as Map<PortId, number>,
    diagnostics: last.diagnostics,
    routeStatus: [],
    changes: { base, ...changed, listeners: [], identities: !sameIdentities } satisfies ContentChanges,
  };
}

/** Whether a Service's new translation keeps its place in the table: meshed or not, the same ports, the same diagnostics. */
function sameShape(a: ServiceTranslation, b: ServiceTranslation): boolean {
  if (a === b) return true;
  if ((a.meshed === undefined) !== (b.meshed === undefined) || !sameDiagnostics(a.diagnostics, b.diagnostics)) return false;
  const pa = a.meshed?.ports ?? [];
  const pb = b.meshed?.ports ?? [];
  return pa.length === pb.length && pa.every((p, i) => p.id === pb[i]!.id && p.protocol === pb[i]!.protocol);
}

/** Whether rebuilt entries keep the same listeners, route slots, route diagnostics and DNS presence. */
function sameRoutes(before: ServiceMemo, after: ServiceMemo): boolean {
  if (after === before) return true;
  const n = after.service.meshed!.ports.length;
  for (let i = 0; i < n; i++) {
    const a = before.routes[i];
    const b = after.routes[i];
    if ((a === undefined) !== (b === undefined) || before.listeners[i] !== after.listeners[i]) return false;
    if (a !== undefined && b !== undefined && (b.deps.length > 0 || !sameDiagnostics(a.diagnostics, b.diagnostics))) return false;
  }
  return (before.dns?.entry === undefined) === (after.dns?.entry === undefined);
}
