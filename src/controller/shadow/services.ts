/**
 * Shadow Services: one per meshed Service, in the mesh namespace, selecting the node proxies
 * with `internalTrafficPolicy: Local`, so a client's connection to the shadow ClusterIP lands on
 * the proxy of its own node, on the proxy port allocated for that (Service, port). The
 * allocation is stored on the shadow itself (`hostmesh.io/proxy-ports`), so a restarted
 * controller reads it back and ports never move. Pure functions; the reconcile loop does the I/O.
 */
import type { ErrorCode } from '../../common/errors.ts';
import type { PortId, ServiceId } from '../../table/types.ts';
import { portId, serviceId } from '../../table/ids.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION } from '../constants.ts';
import type { ServiceObject, ServicePort } from '../objects.ts';
import { shadowServiceName } from './name.ts';

export { shadowServiceName };

export interface ShadowOptions {
  /** Namespace the shadows (and the proxies) live in. */
  meshNamespace: string;
  /** Pod labels of the proxy DaemonSet. */
  proxySelector: Readonly<Record<string, string>>;
}

/** The dual-stack policy is not in the shared object model; it is copied through when present. */
type SpecWithFamilies = NonNullable<ServiceObject['spec']> & { ipFamilyPolicy?: string };

const MESHED_PROTOCOLS = new Set(['TCP', 'UDP']);

function protocolOf(p: ServicePort): string {
  return (p.protocol ?? 'TCP').toUpperCase();
}

/** `{"53/TCP":10001,"53/UDP":10001,"80/TCP":10002}`: sorted, so equal allocations give equal text. */
function portsAnnotation(entries: { port: number; protocol: string; proxyPort: number }[]): string {
  const sorted = entries.toSorted((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
  return JSON.stringify(Object.fromEntries(sorted.map((e) => [`${e.port}/${e.protocol}`, e.proxyPort])));
}

/**
 * The shadow Service wanted for `original`: its TCP and UDP ports that have a proxy port in
 * `proxyPorts` (keyed `namespace/name:port`; TCP and UDP on one port number share it), each
 * targeting that proxy port. Undefined when no port of the Service is allocated.
 */
export function buildShadowService(
  original: ServiceObject,
  proxyPorts: ReadonlyMap<PortId, number>,
  options: ShadowOptions,
): ServiceObject | undefined {
  const namespace = original.metadata.namespace ?? 'default';
  const name = original.metadata.name;
  const ports: ServicePort[] = [];
  const allocated: { port: number; protocol: string; proxyPort: number }[] = [];
  for (const p of original.spec?.ports ?? []) {
    const protocol = protocolOf(p);
    const proxyPort = proxyPorts.get(portId(namespace, name, p.port));
    if (!MESHED_PROTOCOLS.has(protocol) || proxyPort === undefined) continue;
    ports.push(p.name ? { name: p.name, port: p.port, protocol, targetPort: proxyPort } : { port: p.port, protocol, targetPort: proxyPort });
    allocated.push({ port: p.port, protocol, proxyPort });
  }
  if (ports.length === 0) return undefined;
  const spec: SpecWithFamilies = {
    type: 'ClusterIP',
    selector: { ...options.proxySelector },
    ports,
    internalTrafficPolicy: 'Local',
  };
  const family = (original.spec as SpecWithFamilies | undefined)?.ipFamilyPolicy;
  if (family !== undefined) spec.ipFamilyPolicy = family;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: shadowServiceName(namespace, name),
      namespace: options.meshNamespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: {
        [SHADOW_OF_ANNOTATION]: serviceId(namespace, name),
        [SHADOW_PORTS_ANNOTATION]: portsAnnotation(allocated),
      },
    },
    spec,
  };
}

export interface ShadowDiagnostic {
  /** `SHADOW_MALFORMED`, `SHADOW_DUPLICATE` or `SHADOW_PORT_CONFLICT`. */
  code: ErrorCode;
  /** `namespace/name` of the shadow Service concerned. */
  service: string;
  message: string;
}

export interface ShadowState {
  /** Proxy port per Service port, as stored on the shadows. */
  allocations: Map<PortId, number>;
  /** The shadow ClusterIPs per original Service: what mesh DNS answers. */
  clusterIPs: Map<ServiceId, string[]>;
  /** The shadow Service standing for each original. */
  shadows: Map<ServiceId, ServiceObject>;
  /** Shadows (or parts of them) that were ignored, and why. */
  diagnostics: ShadowDiagnostic[];
}

/**
 * A shadow is recognised by its `hostmesh.io/shadow-of` annotation, not by the managed-by label
 * alone: other objects hostmesh manages in the mesh namespace must never be read as shadows (or
 * deleted as stale ones).
 */
export function isShadowService(svc: ServiceObject): boolean {
  return svc.metadata.annotations?.[SHADOW_OF_ANNOTATION] !== undefined;
}

const OWNER = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?)$/;
const PORT_KEY = /^(\d{1,5})\/(TCP|UDP)$/;

function isPortNumber(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

/** The owner and per-port allocation a shadow declares, or why it cannot be read. */
function parseShadow(svc: ServiceObject): { owner: { namespace: string; name: string }; ports: Map<number, number> } | string {
  const annotations = svc.metadata.annotations ?? {};
  const ownerText = annotations[SHADOW_OF_ANNOTATION];
  const owner = ownerText === undefined ? undefined : OWNER.exec(ownerText);
  if (!owner) return `annotation ${SHADOW_OF_ANNOTATION} is ${ownerText === undefined ? 'missing' : `"${ownerText}", not <namespace>/<name>`}`;
  const portsText = annotations[SHADOW_PORTS_ANNOTATION];
  if (portsText === undefined) return `annotation ${SHADOW_PORTS_ANNOTATION} is missing`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(portsText);
  } catch {
    return `annotation ${SHADOW_PORTS_ANNOTATION} is not JSON: ${portsText}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return `annotation ${SHADOW_PORTS_ANNOTATION} is not a JSON object: ${portsText}`;
  }
  const ports = new Map<number, number>();
  for (const [key, value] of Object.entries(parsed)) {
    const m = PORT_KEY.exec(key);
    const port = m ? Number(m[1]) : NaN;
    if (!m || !isPortNumber(port)) return `annotation ${SHADOW_PORTS_ANNOTATION} has key "${key}", not <port>/TCP or <port>/UDP`;
    if (!isPortNumber(value)) return `annotation ${SHADOW_PORTS_ANNOTATION} maps "${key}" to ${JSON.stringify(value)}, not a port number`;
    const other = ports.get(port);
    if (other !== undefined && other !== value) return `annotation ${SHADOW_PORTS_ANNOTATION} maps port ${port} to both ${other} and ${value}`;
    ports.set(port, value);
  }
  return { owner: { namespace: owner[1]!, name: owner[3]! }, ports };
}

/**
 * parseShadow() with the owner's id and whether the shadow has its expected name, remembered
 * per object: the informer replaces an object that changes, and the controller reads the whole
 * mesh namespace after every write while it creates thousands of shadows (a hash per shadow
 * per read made that quadratic in practice).
 */
const shadowReads = new WeakMap<ServiceObject, { annotations: unknown; name: string; read: ShadowRead | string }>();
type ShadowRead = { owner: ServiceId; parsed: Exclude<ReturnType<typeof parseShadow>, string>; expected: boolean };

function readShadow(svc: ServiceObject): ShadowRead | string {
  const annotations = svc.metadata.annotations;
  const cached = shadowReads.get(svc);
  if (cached !== undefined && cached.annotations === annotations && cached.name === svc.metadata.name) return cached.read;
  const parsed = parseShadow(svc);
  const read = typeof parsed === 'string' ? parsed : {
    owner: serviceId(parsed.owner.namespace, parsed.owner.name),
    parsed,
    expected: svc.metadata.name === shadowServiceName(parsed.owner.namespace, parsed.owner.name),
  };
  shadowReads.set(svc, { annotations, name: svc.metadata.name, read });
  return read;
}

/**
 * What existing shadow Services say: the allocations to keep and the ClusterIPs to answer.
 * Malformed shadows are ignored (the reconcile loop rewrites or deletes them); when two claim
 * the same Service, or the same proxy port, the one under its expected name wins (then the
 * first by name). Each of these leaves a diagnostic.
 */
export function readShadowState(services: readonly ServiceObject[]): ShadowState {
  const state: ShadowState = { allocations: new Map(), clusterIPs: new Map(), shadows: new Map(), diagnostics: [] };
  const where = (svc: ServiceObject): string => `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
  const candidates = services.filter(isShadowService).toSorted((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const accepted = new Map<ServiceId, { svc: ServiceObject; ports: Map<number, number>; expected: boolean }>();
  for (const svc of candidates) {
    const read = readShadow(svc);
    if (typeof read === 'string') {
      state.diagnostics.push({ code: 'SHADOW_MALFORMED', service: where(svc), message: `shadow Service ${where(svc)} ignored: ${read}` });
      continue;
    }
    const { owner, parsed, expected } = read;
    const previous = accepted.get(owner);
    if (previous) {
      const [keep, drop] = !previous.expected && expected ? [svc, previous.svc] : [previous.svc, svc];
      state.diagnostics.push({ code: 'SHADOW_DUPLICATE', service: where(drop), message: `shadow Service ${where(drop)} ignored: ${where(keep)} also stands for ${owner}` });
      if (keep === previous.svc) continue;
    }
    accepted.set(owner, { svc, ports: parsed.ports, expected });
  }
  const portOwner = new Map<number, PortId>();
  // Shadows under their expected names claim their ports first: a copy or a hand-made shadow
  // cannot take a port from the real one.
  const order = [...accepted].toSorted(([, a], [, b]) =>
    Number(b.expected) - Number(a.expected) || (a.svc.metadata.name < b.svc.metadata.name ? -1 : 1));
  for (const [owner, { svc, ports }] of order) {
    const [namespace, name] = owner.split('/') as [string, string];
    for (const [port, proxyPort] of ports) {
      const id = portId(namespace, name, port);
      const holder = portOwner.get(proxyPort);
      if (holder !== undefined) {
        state.diagnostics.push({ code: 'SHADOW_PORT_CONFLICT', service: where(svc), message: `proxy port ${proxyPort} of ${id} on shadow Service ${where(svc)} ignored: already allocated to ${holder}` });
        continue;
      }
      portOwner.set(proxyPort, id);
      state.allocations.set(id, proxyPort);
    }
    state.shadows.set(owner, svc);
    const ips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP === undefined ? [] : [svc.spec.clusterIP]))
      .filter((ip) => ip !== '' && ip !== 'None');
    if (ips.length > 0) state.clusterIPs.set(owner, ips);
  }
  return state;
}
