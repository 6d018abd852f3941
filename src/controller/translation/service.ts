/**
 * One Service -> its part of the table, as a pure function of the Service object, its
 * EndpointSlices, its last good settings and the translation's options: the annotations
 * parsed into settings, the ports that are meshed with their endpoints, one cluster entry per
 * meshed port, and the Service's own diagnostics. translate() calls it only for Services whose
 * inputs changed since the previous translation (see ServiceMemo in translate.ts), so one
 * EndpointSlice change re-translates one Service, not the cluster.
 */
import { portId, serviceId } from '../../table/index.ts';
import type { ClusterEntry, DnsServiceEntry, ListenerEntry, PortId, RouteEntry, ServiceId, TrafficType } from '../../table/index.ts';
import { parseServiceAnnotations } from './annotations/parse.ts';
import { defaultSettings } from './annotations/settings.ts';
import type { AnnotationResult, ServiceSettings } from './annotations/settings.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../constants.ts';
import type { EndpointSliceObject, ServiceObject, ServicePort } from '../objects.ts';
import { diagnostic, quote, serviceObject } from './diagnostics.ts';
import { dnsServiceEntry } from './dns.ts';
import { resolveEndpoints } from './endpoints.ts';
import type { PortSpec } from './endpoints.ts';
import type { MeshedPort, MeshedService, ServiceLookup } from './model.ts';
import { buildCluster, buildRoute } from './routes.ts';
import type { Diagnostic, DiagnosticObject, ExpressionChecker, ParsedAnnotations } from './types.ts';

/** What one Service was translated from (compared by identity) and into. */
export interface ServiceTranslation {
  readonly svc: ServiceObject;
  /** Its EndpointSlices in name order. */
  readonly slices: readonly EndpointSliceObject[];
  /** Its last good settings before this translation. */
  readonly previous: ServiceSettings | undefined;
  /** Whether the result depends on `previous` (a valid parse does not). */
  readonly usesPrevious: boolean;
  /** The parsed annotations to remember (absent when the Service is out of scope). */
  readonly parsed: ParsedAnnotations | undefined;
  /** The last good settings to remember. */
  readonly settings: ServiceSettings | undefined;
  /** Present when the Service is in the mesh with at least one port. */
  readonly meshed: MeshedService | undefined;
  /** One per port of `meshed`, same order. */
  readonly clusters: readonly ClusterEntry[];
  readonly diagnostics: readonly Diagnostic[];
}

/** A Service another one's route looked up (a split or mirror target) and what it found. */
export interface RouteDependency {
  name: string;
  result: ReturnType<ServiceLookup>;
}

/** Per Service, what translate() remembers for the next translation. */
export interface ServiceMemo {
  service: ServiceTranslation;
  /** Built routes by port index, with the look-ups each made. */
  routes: ({ entry: RouteEntry; diagnostics: readonly Diagnostic[]; deps: readonly RouteDependency[] } | undefined)[];
  listeners: (ListenerEntry | undefined)[];
  /**
   * The DNS entry, with the shadow addresses it was built from; rebuilt as well whenever a
   * listener or route was (its listen ports).
   */
  dns: { addresses: readonly string[] | undefined; entry: DnsServiceEntry | undefined } | undefined;
}

export interface ServiceContext {
  inScope: (namespace: string) => boolean;
  checkExpression: ExpressionChecker;
}

const NONE: readonly never[] = [];
export const NO_SLICES: readonly EndpointSliceObject[] = [];

/** What a meshed Service's routes, listeners and DNS entry are built from besides its translation. */
export interface EntryContext {
  /** Listen ports by port id (a port without one is not routed). */
  ports: ReadonlyMap<PortId, number>;
  lookup: ServiceLookup;
  mode: 'standalone' | 'cluster';
  shadowAddresses: ReadonlyMap<ServiceId, readonly string[]> | undefined;
}

/**
 * The routes, listeners and DNS entry of one meshed Service, reusing `before`'s where their
 * inputs are the same: returns `before` itself when nothing was rebuilt, else a copy with the
 * rebuilt entries (so an unchanged Service costs no allocation).
 */
export function buildEntries(before: ServiceMemo, context: EntryContext): ServiceMemo {
  const t = before.service;
  const svc = t.meshed!;
  const { ports, lookup } = context;
  let memo = before;
  const own = (): ServiceMemo => memo !== before ? memo : (memo = { service: t, routes: [...before.routes], listeners: [...before.listeners], dns: before.dns });
  for (let i = 0; i < svc.ports.length; i++) {
    const port = svc.ports[i]!;
    const listenPort = ports.get(port.id);
    if (listenPort === undefined) {
      if (before.routes[i] !== undefined || before.listeners[i] !== undefined) {
        own().routes[i] = undefined;
        own().listeners[i] = undefined;
      }
      continue;
    }
    // A route reads other Services only through lookup (split and mirror targets): it is
    // reused while each Service it looked up resolves to the same object.
    const route = before.routes[i];
    if (route === undefined || !route.deps.every((d) => lookup(svc.namespace, d.name) === d.result)) {
      const deps: RouteDependency[] = [];
      const made: Diagnostic[] = [];
      const entry = buildRoute(svc, port, (namespace, name) => {
        const result = lookup(namespace, name);
        deps.push({ name, result });
        return result;
      }, made);
      own().routes[i] = { entry, diagnostics: made, deps };
    }
    const listener = before.listeners[i];
    if (listener?.port !== listenPort || listener.route !== port.id || listener.protocol !== port.protocol) {
      own().listeners[i] = { port: listenPort, protocol: port.protocol, route: port.id };
    }
  }
  const addresses = context.mode === 'standalone' ? undefined : context.shadowAddresses?.get(svc.id);
  const dnsEntry = before.dns;
  if (dnsEntry === undefined || memo !== before || !sameAddresses(dnsEntry.addresses, addresses)) {
    own().dns = { addresses, entry: dnsServiceEntry(svc, ports, context.mode, addresses) };
  }
  return memo;
}

/**
 * Whether a Service translates as last time: its object, slices and (when it used them) last
 * good settings are the same objects, and its annotations hold the same values (sources
 * replace changed objects, but annotations are also compared by value, as the parse cache
 * always did, so an edit made in place is seen).
 */
export function unchanged(t: ServiceTranslation, svc: ServiceObject, slices: readonly EndpointSliceObject[], previous: ServiceSettings | undefined): boolean {
  return t.svc === svc
    && (!t.usesPrevious || t.previous === previous)
    && sameList(t.slices, slices)
    && (t.parsed === undefined || sameEntries(t.parsed.annotations, svc.metadata.annotations));
}

function sameAddresses(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && sameList(a, b));
}

export function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * serviceId(namespace, name) for an object, the same string each time while the object and
 * those fields are the same: Map look-ups with a string whose hash is already computed are
 * several times cheaper than with a new one, and translation does five per Service. A cache of
 * a pure function (the fields are checked), so it does not affect the output.
 */
const ids = new WeakMap<object, { namespace: string; name: string; id: ServiceId }>();

export function idOf(o: object, namespace: string, name: string): ServiceId {
  const c = ids.get(o);
  if (c !== undefined && c.namespace === namespace && c.name === name) return c.id;
  const id = serviceId(namespace, name);
  ids.set(o, { namespace, name, id });
  return id;
}

/**
 * Translates one Service. `cached` is its previous parse (reused when the annotations are the
 * same); `previous` its last good settings.
 */
export function translateService(
  svc: ServiceObject,
  id: ServiceId,
  slices: readonly EndpointSliceObject[],
  previous: ServiceSettings | undefined,
  cached: ParsedAnnotations | undefined,
  context: ServiceContext,
): ServiceTranslation {
  const namespace = svc.metadata.namespace || 'default';
  const name = svc.metadata.name;
  const out = { svc, slices, previous };
  if (!context.inScope(namespace) || svc.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
    return { ...out, usesPrevious: false, parsed: undefined, settings: undefined, meshed: undefined, clusters: NONE, diagnostics: NONE };
  }
  const label = `${namespace}/${name}`;
  const object = serviceObject(namespace, name);
  const annotations = svc.metadata.annotations;
  let entry: ParsedAnnotations;
  if (cached && sameEntries(cached.annotations, annotations)) entry = cached;
  else {
    const result = parseServiceAnnotations({ namespace, name }, annotations, { checkExpression: context.checkExpression });
    entry = { annotations: annotations ? { ...annotations } : undefined, result };
  }
  const parsed: AnnotationResult = entry.result;
  const diagnostics: Diagnostic[] = [];
  const done = (settings: ServiceSettings | undefined, meshed?: MeshedService): ServiceTranslation => ({
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
    if (parsed.annotated) diagnostics.push(diagnostic('info', 'service-skipped', object, `${label}: ${skip}, so it is not meshed and its mesh annotations are ignored`));
    return done(previous);
  }
  if (parsed.mesh === false) return done(previous);
  // The API server's Service: clients speak TLS to it with its own certificates and
  // long-lived watches; meshing it as HTTP only gets in the way. Opt in with mesh: "true".
  if (namespace === 'default' && name === 'kubernetes' && parsed.mesh !== true) return done(previous);
  diagnostics.push(...parsed.diagnostics);

  let settings: ServiceSettings;
  let remembered = previous;
  if (parsed.settings) {
    settings = parsed.settings;
    remembered = settings;
  } else {
    settings = previous ?? defaultSettings();
    if (parsed.mesh !== undefined && parsed.mesh !== settings.mesh) settings = { ...settings, mesh: parsed.mesh };
    diagnostics.push(diagnostic('warning', 'settings-last-good', object, previous
      ? `${label}: because of the invalid annotation(s), the Service keeps its last valid settings until they are fixed`
      : `${label}: because of the invalid annotation(s), the Service uses the default settings until they are fixed`));
  }
  if (!settings.mesh) return done(remembered);

  const ports = meshedPorts(svc, namespace, name, settings, slices, object, diagnostics);
  if (ports.length === 0) return done(remembered);
  return done(remembered, { id, namespace, name, settings, ports });
}

function skipReason(svc: ServiceObject): string | undefined {
  if (svc.spec?.type === 'ExternalName') return 'it is an ExternalName Service';
  if (!Array.isArray(svc.spec?.ports) || svc.spec.ports.length === 0) return 'it has no ports';
  return undefined;
}

/** The Service's ports that can be meshed, with their protocol and ready endpoints. */
function meshedPorts(
  svc: ServiceObject,
  namespace: string,
  name: string,
  settings: ServiceSettings,
  slices: readonly EndpointSliceObject[],
  object: DiagnosticObject,
  diagnostics: Diagnostic[],
): MeshedPort[] {
  const label = `${namespace}/${name}`;
  const out: MeshedPort[] = [];
  const ignoredOn: string[] = [];
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
      diagnostics.push(diagnostic('warning', 'port-duplicate', object,
        `${label}: port ${spec.port}/${spec.protocol} has the same number as an earlier port of the Service, and routes are identified by port number, so only the earlier one is meshed`));
      continue;
    }
    const protocol = protocolOf(spec, settings, label, object, diagnostics);
    const { endpoints, problems } = resolveEndpoints(spec, slices);
    for (const p of problems) {
      diagnostics.push(p.kind === 'port-unresolved'
        ? diagnostic('warning', 'port-unresolved', object, `${label}: port ${spec.port}: EndpointSlice ${namespace}/${p.slice} ${p.message}; its endpoints are not used for this port`)
        : diagnostic('warning', 'endpoint-invalid', { kind: 'EndpointSlice', namespace, name: p.slice }, `${namespace}/${p.slice}: ${p.message}; they are skipped`));
    }
    const port: MeshedPort = { id: portId(namespace, name, spec.port), name: spec.name, port: spec.port, protocol, endpoints };
    if (typeof sp.appProtocol === 'string') port.appProtocol = sp.appProtocol;
    if (protocol !== 'http') ignoredOn.push(`${spec.port}/${protocol}`);
    out.push(port);
  }
  if (ignoredOn.length > 0 && settings.httpOnlyKeys.length > 0) {
    diagnostics.push(diagnostic('warning', 'annotation-ignored', object,
      `${label}: ${settings.httpOnlyKeys.join(', ')} ${settings.httpOnlyKeys.length === 1 ? 'applies' : 'apply'} to http traffic only and ${settings.httpOnlyKeys.length === 1 ? 'is' : 'are'} ignored on port ${ignoredOn.join(', ')}`));
  }
  return out.toSorted((a, b) => a.port - b.port);
}

/** A checked Service port, or why it cannot be used. */
function portSpec(sp: ServicePort): PortSpec | string {
  const n = sp?.port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) return `port ${quote(String(n))} is not a port number`;
  const target = sp.targetPort ?? n;
  const validTarget = typeof target === 'number' ? Number.isInteger(target) && target >= 1 && target <= 65535 : typeof target === 'string' && target !== '';
  if (!validTarget) return `port ${n}: targetPort ${quote(String(target))} is neither a port number nor a port name`;
  return {
    name: typeof sp.name === 'string' ? sp.name : '',
    port: n,
    targetPort: target,
    protocol: typeof sp.protocol === 'string' ? sp.protocol.toUpperCase() : 'TCP',
  };
}

/** UDP ports are udp whatever the annotation says; TCP ports follow traffic-type (default http). */
function protocolOf(spec: PortSpec, settings: ServiceSettings, label: string, object: DiagnosticObject, diagnostics: Diagnostic[]): TrafficType {
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
export function sameEntries(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  let count = 0;
  for (const k in b) {
    if (!Object.hasOwn(b, k)) continue;
    if (!Object.hasOwn(a, k) || a[k] !== b[k]) return false;
    count++;
  }
  return count === Object.keys(a).length;
}
