/**
 * Cluster objects -> routing table: the one pure function both sources (manifest directory,
 * Kubernetes informers) call after every change.
 *
 * Each Service's annotations apply all together or not at all: a Service with an invalid one
 * keeps its last good settings (from `memory`) or the defaults, stays in the mesh, and its
 * endpoints still update. Output is sorted so equal inputs give byte-identical tables.
 */
import { checkExpression as compileCheck } from '../../expr/index.ts';
import { portId, serviceId } from '../../table/index.ts';
import type { ClusterEntry, ListenerEntry, RouteEntry, ServiceId, TrafficType } from '../../table/index.ts';
import { parseServiceAnnotations } from './annotations/parse.ts';
import { defaultSettings } from './annotations/settings.ts';
import type { AnnotationResult, ServiceSettings } from './annotations/settings.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../constants.ts';
import { SERVICE_NAME_LABEL } from '../objects.ts';
import type { EndpointSliceObject, ServiceObject, ServicePort } from '../objects.ts';
import { allocatePorts } from './ports.ts';
import { cmp, diagnostic, quote, serviceObject, sortDiagnostics } from './diagnostics.ts';
import { dnsServices } from './dns.ts';
import { buildIdentities } from './identities.ts';
import { resolveEndpoints } from './endpoints.ts';
import type { PortSpec } from './endpoints.ts';
import type { MeshedPort, MeshedService, ServiceLookup } from './model.ts';
import { buildCluster, buildRoute } from './routes.ts';
import { smiTranslation } from './smi/index.ts';
import type {
  Diagnostic, DiagnosticObject, ParsedAnnotations, TranslateInput, TranslateOptions, TranslateResult,
} from './types.ts';

export const DEFAULT_ZONES: readonly string[] = ['hostmesh'];
export const DEFAULT_DNS_TTL = 5;
export const DEFAULT_MESH_NAMESPACE = 'hostmesh';
export const DEFAULT_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function translate(input: TranslateInput): TranslateResult {
  const { state, memory } = input;
  // Expressions are compiled when the table is built, so a bad one is reported here (with its
  // column) and the Service keeps its last good settings; tests may inject another checker.
  const options = { ...input.options, checkExpression: input.options.checkExpression ?? compileCheck };
  const diagnostics: Diagnostic[] = [];
  const inScope = namespaceFilter(options);
  const slices = indexSlices(state.endpointSlices);

  const present = new Set<ServiceId>();
  const meshed: MeshedService[] = [];
  const memoryOut = new Map<ServiceId, ServiceSettings>();
  const cacheIn = memory.parsed && memory.parsed.checker === options.checkExpression ? memory.parsed.entries : undefined;
  const cacheOut = new Map<ServiceId, ParsedAnnotations>();
  for (const svc of uniqueServices(state.services, diagnostics)) {
    const namespace = svc.metadata.namespace || 'default';
    const name = svc.metadata.name;
    const id = serviceId(namespace, name);
    present.add(id);
    if (!inScope(namespace) || svc.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) continue;

    const label = `${namespace}/${name}`;
    const object = serviceObject(namespace, name);
    const previous = memory.settings.get(id);
    if (previous) memoryOut.set(id, previous);
    const annotations = svc.metadata.annotations;
    const cached = cacheIn?.get(id);
    let parsed: AnnotationResult;
    if (cached && sameEntries(cached.annotations, annotations)) {
      parsed = cached.result;
      cacheOut.set(id, cached);
    } else {
      parsed = parseServiceAnnotations({ namespace, name }, annotations, { checkExpression: options.checkExpression });
      cacheOut.set(id, { annotations: annotations ? { ...annotations } : undefined, result: parsed });
    }
    const skip = skipReason(svc);
    if (skip) {
      if (parsed.annotated) diagnostics.push(diagnostic('info', 'service-skipped', object, `${label}: ${skip}, so it is not meshed and its mesh annotations are ignored`));
      continue;
    }
    if (parsed.mesh === false) continue;
    // The API server's Service: clients speak TLS to it with its own certificates and
    // long-lived watches; meshing it as HTTP only gets in the way. Opt in with mesh: "true".
    if (namespace === 'default' && name === 'kubernetes' && parsed.mesh !== true) continue;
    diagnostics.push(...parsed.diagnostics);

    let settings: ServiceSettings;
    if (parsed.settings) {
      settings = parsed.settings;
      memoryOut.set(id, settings);
    } else {
      settings = previous ?? defaultSettings();
      if (parsed.mesh !== undefined && parsed.mesh !== settings.mesh) settings = { ...settings, mesh: parsed.mesh };
      diagnostics.push(diagnostic('warning', 'settings-last-good', object, previous
        ? `${label}: because of the invalid annotation(s), the Service keeps its last valid settings until they are fixed`
        : `${label}: because of the invalid annotation(s), the Service uses the default settings until they are fixed`));
    }
    if (!settings.mesh) continue;

    const ports = meshedPorts(svc, namespace, name, settings, slices.get(id) ?? [], object, diagnostics);
    if (ports.length === 0) continue;
    meshed.push({ id, namespace, name, settings, ports });
  }

  const byId = new Map(meshed.map((m) => [m.id, m]));
  const lookup: ServiceLookup = (namespace, name) => {
    const id = serviceId(namespace, name);
    return byId.get(id) ?? (present.has(id) ? 'not-meshed' : 'missing');
  };

  const smi = smiTranslation(state, options.acl === true, lookup, diagnostics);

  const allocation = allocatePorts(meshed.flatMap((m) => m.ports.map((p) => p.id)), input.ports, options.portRange, options.reservedPorts);
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
  for (const svc of meshed) {
    for (const port of svc.ports) {
      clusters.push(buildCluster(svc, port));
      const listenPort = allocation.ports.get(port.id);
      if (listenPort === undefined) continue;
      const route = buildRoute(svc, port, lookup, diagnostics);
      smi.route(svc, port, route);
      routes.push(route);
      listeners.push({ port: listenPort, protocol: port.protocol, route: port.id });
    }
  }

  smi.finish();

  const identities = buildIdentities(state.pods);
  return {
    content: {
      dns: {
        zones: [...(options.zones ?? DEFAULT_ZONES)],
        ttl: options.dnsTtl ?? DEFAULT_DNS_TTL,
        services: dnsServices(meshed, allocation.ports, options.mode, options.shadowAddresses),
      },
      listeners: listeners.toSorted((a, b) => a.port - b.port),
      routes,
      clusters,
      ...(identities.length > 0 ? { identities } : {}),
    },
    memory: { settings: memoryOut, parsed: { checker: options.checkExpression, entries: cacheOut } },
    ports: allocation.ports,
    diagnostics: sortDiagnostics(diagnostics),
  };
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
    const id = serviceId(slice.metadata.namespace || 'default', owner);
    const list = out.get(id) ?? [];
    list.push(slice);
    out.set(id, list);
  }
  for (const [id, list] of out) out.set(id, list.toSorted((a, b) => cmp(a.metadata.name, b.metadata.name)));
  return out;
}

/** Well-formed Services sorted by namespace and name; a repeated one is reported and dropped. */
function uniqueServices(services: readonly ServiceObject[], diagnostics: Diagnostic[]): ServiceObject[] {
  const seen = new Set<ServiceId>();
  const out: ServiceObject[] = [];
  for (const svc of services) {
    const name = svc?.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    const namespace = svc.metadata.namespace || 'default';
    const id = serviceId(namespace, name);
    if (seen.has(id)) {
      diagnostics.push(diagnostic('warning', 'service-duplicate', serviceObject(namespace, name), `${id}: the Service is defined more than once; the first definition is used`));
      continue;
    }
    seen.add(id);
    out.push(svc);
  }
  return out.toSorted((a, b) => cmp(a.metadata.namespace || 'default', b.metadata.namespace || 'default') || cmp(a.metadata.name, b.metadata.name));
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
function sameEntries(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  let count = 0;
  for (const k in b) {
    if (!Object.hasOwn(b, k)) continue;
    if (!Object.hasOwn(a, k) || a[k] !== b[k]) return false;
    count++;
  }
  return count === Object.keys(a).length;
}
