/**
 * The built-in kinds the fake API server serves, with the defaulting, allocation and validation
 * of the real server that hostmesh depends on: Services get a ClusterIP from a fake service range
 * (and node ports for NodePort/LoadBalancer), EndpointSlices and Services are checked the way
 * the real server checks them, Deployments track generation.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { ApiError, invalid } from './fake-apiserver-store.ts';
import type { FieldCause, KubeObject, ResourceDef } from './fake-apiserver-store.ts';

type Rec = Record<string, unknown>;

function isObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Hands out ClusterIPs from an IPv4 CIDR, lowest free first (after the first 32, kept for fixed IPs). */
export class ClusterIpAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  readonly cidr: string;

  constructor(cidr: string) {
    const m = /^([\d.]+)\/(\d+)$/.exec(cidr);
    const base = m ? ipToInt(m[1]!) : undefined;
    const bits = m ? Number(m[2]) : NaN;
    if (base === undefined || !(bits >= 8 && bits <= 28)) throw new Error(`bad service CIDR ${cidr}`);
    this.size = 2 ** (32 - bits);
    this.base = base - (base % this.size);
    this.cidr = cidr;
  }

  allocate(): string {
    for (let i = 32; i < this.size - 1; i++) {
      if (!this.used.has(this.base + i)) {
        this.used.add(this.base + i);
        return intToIp(this.base + i);
      }
    }
    throw new ApiError(500, 'InternalError', `Internal error occurred: failed to allocate a serviceIP: range is full`);
  }

  reserve(ip: string, svcName: string): void {
    const n = ipToInt(ip);
    if (n === undefined || n <= this.base || n >= this.base + this.size - 1) {
      throw invalid('Service', svcName, [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: "${ip}": provided IP is not in the valid range. The range of valid IPs is ${this.cidr}` }]);
    }
    if (this.used.has(n)) {
      throw invalid('Service', svcName, [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: "${ip}": provided IP is already allocated` }]);
    }
    this.used.add(n);
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.used.delete(n);
  }
}

class NodePortAllocator {
  private readonly used = new Set<number>();
  private next = 30000;

  allocate(): number {
    for (let tries = 0; tries < 2768; tries++) {
      const port = this.next;
      this.next = this.next >= 32767 ? 30000 : this.next + 1;
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    throw new ApiError(500, 'InternalError', 'Internal error occurred: failed to allocate a nodePort: range is full');
  }

  reserve(port: number): void {
    this.used.add(port);
  }

  release(port: number): void {
    this.used.delete(port);
  }
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*$/;

function isPort(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

function servicePorts(svc: KubeObject): Rec[] {
  const spec = svc.spec as Rec | undefined;
  return Array.isArray(spec?.ports) ? (spec.ports as unknown[]).filter(isObject) : [];
}

function validateService(svc: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const spec = isObject(svc.spec) ? svc.spec : {};
  const type = spec.type as string;
  if (!SERVICE_TYPES.includes(type)) {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.type', message: `Unsupported value: "${String(type)}"` });
  }
  const ports = servicePorts(svc);
  if (type !== 'ExternalName' && spec.clusterIP !== 'None' && ports.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
  }
  if (type === 'ExternalName' && typeof spec.externalName !== 'string') {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.externalName', message: 'Required value' });
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (!isPort(p.port)) causes.push({ reason: 'FieldValueInvalid', field: `${f}.port`, message: `Invalid value: ${JSON.stringify(p.port)}: must be between 1 and 65535, inclusive` });
    if (!PROTOCOLS.includes(p.protocol as string)) causes.push({ reason: 'FieldValueNotSupported', field: `${f}.protocol`, message: `Unsupported value: ${JSON.stringify(p.protocol)}` });
    const tp = p.targetPort;
    if (tp !== undefined && !(isPort(tp) || (typeof tp === 'string' && tp.length <= 15 && IANA_SVC_NAME.test(tp)))) {
      causes.push({ reason: 'FieldValueInvalid', field: `${f}.targetPort`, message: `Invalid value: ${JSON.stringify(tp)}` });
    }
    if (ports.length > 1 && (typeof p.name !== 'string' || p.name === '')) {
      causes.push({ reason: 'FieldValueRequired', field: `${f}.name`, message: 'Required value' });
    }
    if (typeof p.name === 'string' && p.name !== '') {
      if (!PORT_NAME.test(p.name)) causes.push({ reason: 'FieldValueInvalid', field: `${f}.name`, message: `Invalid value: "${p.name}"` });
      if (names.has(p.name)) causes.push({ reason: 'FieldValueDuplicate', field: `${f}.name`, message: `Duplicate value: "${p.name}"` });
      names.add(p.name);
    }
  });
  const itp = spec.internalTrafficPolicy;
  if (itp !== undefined && itp !== 'Cluster' && itp !== 'Local') {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.internalTrafficPolicy', message: `Unsupported value: ${JSON.stringify(itp)}` });
  }
  return causes;
}

function serviceDefaults(svc: KubeObject): void {
  if (!isObject(svc.spec)) svc.spec = {};
  const spec = svc.spec as Rec;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  for (const p of servicePorts(svc)) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  svc.status ??= { loadBalancer: {} };
}

function serviceResource(clusterIps: ClusterIpAllocator): ResourceDef {
  const nodePorts = new NodePortAllocator();
  const wantsNodePorts = (spec: Rec): boolean => spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const releaseAll = (svc: KubeObject): void => {
    const spec = svc.spec as Rec;
    const ip = spec.clusterIP;
    if (typeof ip === 'string' && ip !== 'None') clusterIps.release(ip);
    for (const p of servicePorts(svc)) if (typeof p.nodePort === 'number') nodePorts.release(p.nodePort);
  };
  return {
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    nameRule: 'dns1035',
    returnDeletedObject: true,
    statusSubresource: true,
    fields: { 'spec.clusterIP': (o) => (o.spec as Rec | undefined)?.clusterIP as string, 'spec.type': (o) => (o.spec as Rec | undefined)?.type as string },
    defaults: serviceDefaults,
    validate: validateService,
    onCreate(svc) {
      const spec = svc.spec as Rec;
      const name = svc.metadata.name!;
      if (spec.type === 'ExternalName') {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      } else if (spec.clusterIP === 'None') {
        spec.clusterIPs = ['None'];
      } else {
        const wanted = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
        if (wanted) clusterIps.reserve(wanted, name);
        spec.clusterIP = wanted ?? clusterIps.allocate();
        spec.clusterIPs = [spec.clusterIP];
        spec.ipFamilies = ['IPv4'];
        spec.ipFamilyPolicy = 'SingleStack';
      }
      if (wantsNodePorts(spec)) {
        for (const p of servicePorts(svc)) {
          if (typeof p.nodePort === 'number') nodePorts.reserve(p.nodePort);
          else p.nodePort = nodePorts.allocate();
        }
      }
    },
    onUpdate(svc, old) {
      const spec = svc.spec as Rec;
      const prev = old.spec as Rec;
      // The ClusterIP is immutable; an update that leaves it out keeps the allocated one.
      for (const field of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'] as const) {
        if (spec[field] === undefined || spec[field] === '') {
          if (prev[field] === undefined) delete spec[field];
          else spec[field] = structuredClone(prev[field]);
        }
      }
      if (spec.type !== 'ExternalName' && spec.clusterIP !== prev.clusterIP) {
        throw invalid('Service', svc.metadata.name, [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', message: `Invalid value: ${JSON.stringify(spec.clusterIP)}: field is immutable` }]);
      }
      if (wantsNodePorts(spec)) {
        const previous = new Map(servicePorts(old).map((p) => [`${String(p.port)}/${String(p.protocol)}`, p.nodePort]));
        for (const p of servicePorts(svc)) {
          if (typeof p.nodePort === 'number') continue;
          const kept = previous.get(`${String(p.port)}/${String(p.protocol)}`);
          p.nodePort = typeof kept === 'number' ? kept : nodePorts.allocate();
        }
      }
    },
    onDelete: releaseAll,
  };
}

/**
 * Like the real validation: addresses must parse as the slice's family. Unlike it, loopback
 * addresses are accepted (the tests' backends listen on 127.0.0.1; see the server's header).
 * Port numbers are not range-checked (the real server accepts 0 and beyond 65535 too), but
 * port names must be unique.
 */
function validateEndpointSlice(slice: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const family = slice.addressType === 'IPv4' ? isIPv4 : slice.addressType === 'IPv6' ? isIPv6 : undefined;
  if (!['IPv4', 'IPv6', 'FQDN'].includes(slice.addressType as string)) {
    causes.push({ reason: 'FieldValueNotSupported', field: 'addressType', message: `Unsupported value: ${JSON.stringify(slice.addressType)}` });
  }
  const endpoints = slice.endpoints;
  if (endpoints !== undefined && endpoints !== null) {
    if (!Array.isArray(endpoints)) causes.push({ reason: 'FieldValueInvalid', field: 'endpoints', message: 'must be a list' });
    else endpoints.forEach((ep: unknown, i) => {
      const addrs = isObject(ep) ? ep.addresses : undefined;
      if (!Array.isArray(addrs) || addrs.length < 1 || addrs.length > 100) {
        causes.push({ reason: 'FieldValueRequired', field: `endpoints[${i}].addresses`, message: 'must contain at least 1 address and at most 100' });
      } else if (family !== undefined) {
        addrs.forEach((a: unknown, j) => {
          if (typeof a === 'string' && family(a)) return;
          // An address of the other family is named on the list, a malformed one on itself.
          if (typeof a === 'string' && isIP(a) !== 0) {
            causes.push({ reason: 'FieldValueInvalid', field: `endpoints[${i}].addresses`, message: `Invalid value: ${JSON.stringify(a)}: must be an ${String(slice.addressType)} address` });
          } else {
            causes.push({ reason: 'FieldValueInvalid', field: `endpoints[${i}].addresses[${j}]`, message: `Invalid value: ${JSON.stringify(a)}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` });
          }
        });
      }
    });
  }
  const ports = slice.ports;
  if (Array.isArray(ports)) {
    const names = new Set<string>();
    ports.forEach((p: unknown, i) => {
      const port = isObject(p) ? p.port : undefined;
      if (port !== undefined && port !== null && !Number.isInteger(port)) {
        causes.push({ reason: 'FieldValueInvalid', field: `ports[${i}].port`, message: `Invalid value: ${JSON.stringify(port)}` });
      }
      const name = isObject(p) && typeof p.name === 'string' ? p.name : '';
      if (names.has(name)) causes.push({ reason: 'FieldValueDuplicate', field: `ports[${i}].name`, message: `Duplicate value: ${JSON.stringify(name)}` });
      names.add(name);
    });
  }
  return causes;
}

function validateDeployment(dep: KubeObject): FieldCause[] {
  const spec = isObject(dep.spec) ? dep.spec : {};
  const causes: FieldCause[] = [];
  if (!isObject(spec.selector)) causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
  if (!isObject(spec.template)) causes.push({ reason: 'FieldValueRequired', field: 'spec.template', message: 'Required value' });
  return causes;
}

function validateConfigMap(cm: KubeObject): FieldCause[] {
  const data = cm.data;
  if (data === undefined || data === null) return [];
  if (!isObject(data)) return [{ reason: 'FieldValueInvalid', field: 'data', message: 'must be a map of strings' }];
  return Object.entries(data).flatMap(([k, v]): FieldCause[] => {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) return [{ reason: 'FieldValueInvalid', field: `data[${k}]`, message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` }];
    if (typeof v !== 'string') return [{ reason: 'FieldValueInvalid', field: `data[${k}]`, message: 'must be a string' }];
    return [];
  });
}

/** events.k8s.io/v1 requires what `kubectl events` and the event recorder always fill. */
function validateEventV1(ev: KubeObject): FieldCause[] {
  return ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']
    .filter((f) => ev[f] === undefined || ev[f] === '')
    .map((f) => ({ reason: 'FieldValueRequired' as const, field: f, message: 'Required value' }));
}

const nested = (path: string) => (obj: KubeObject): string | undefined => {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = isObject(cur) ? cur[part] : undefined;
  return typeof cur === 'string' ? cur : undefined;
};

/**
 * A Lease's acquireTime and renewTime are MicroTime: the real server cannot decode any other form
 * (a JavaScript Date's three fractional digits included) and answers 400.
 */
function checkLeaseTimes(lease: KubeObject): void {
  const spec = isObject(lease.spec) ? lease.spec : {};
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const v = spec[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/.test(v)) {
      throw new ApiError(400, 'BadRequest', `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": spec.${field} must have six fractional digits`);
    }
  }
}

export function builtinResources(options: { serviceCIDR: string }): ResourceDef[] {
  return [
    serviceResource(new ClusterIpAllocator(options.serviceCIDR)),
    {
      group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false,
      nameRule: 'dns1123-label', statusSubresource: true,
      fields: { 'status.phase': nested('status.phase') },
      defaults(ns) {
        ns.spec ??= { finalizers: ['kubernetes'] };
        ns.status ??= { phase: 'Active' };
      },
    },
    { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, validate: validateConfigMap },
    {
      group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true,
      fields: Object.fromEntries(['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type'].map((f) => [f, nested(f)])),
    },
    {
      group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true,
      validate: validateEventV1,
      fields: Object.fromEntries(['regarding.kind', 'regarding.name', 'regarding.namespace', 'reason', 'type', 'reportingController'].map((f) => [f, nested(f)])),
    },
    { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true, validate: validateEndpointSlice },
    {
      group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, statusSubresource: true,
      fields: { 'status.phase': nested('status.phase'), 'spec.nodeName': nested('spec.nodeName') },
    },
    // Leader election: optimistic concurrency (409 on a stale resourceVersion) is the Store's.
    { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, defaults: checkLeaseTimes },
    {
      group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, statusSubresource: true,
      validate: validateDeployment,
      defaults(dep) {
        if (isObject(dep.spec)) dep.spec.replicas ??= 1;
      },
    },
  ];
}

/**
 * The Gateway API kinds hostmesh reads, as their CRDs define them: not served until a test
 * registers them (`fake.registerResource(def)` for each, as installing the CRDs would), so the
 * controller's "CRD absent" path is the default. Routes have the `status` subresource and a
 * generation that counts spec changes (what `observedGeneration` in route status refers to).
 */
export function gatewayApiResources(): ResourceDef[] {
  return [
    { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', namespaced: true, statusSubresource: true },
    { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'grpcroutes', kind: 'GRPCRoute', namespaced: true, statusSubresource: true },
    { group: 'gateway.networking.k8s.io', version: 'v1beta1', plural: 'referencegrants', kind: 'ReferenceGrant', namespaced: true },
  ];
}

/** The SMI kinds, each CRD with the versions the SMI project's CRDs serve (oldest first). */
export const SMI_CRDS = {
  TrafficSplit: { group: 'split.smi-spec.io', plural: 'trafficsplits', versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'] },
  HTTPRouteGroup: { group: 'specs.smi-spec.io', plural: 'httproutegroups', versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'] },
  TCPRoute: { group: 'specs.smi-spec.io', plural: 'tcproutes', versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'] },
  UDPRoute: { group: 'specs.smi-spec.io', plural: 'udproutes', versions: ['v1alpha4'] },
  TrafficTarget: { group: 'access.smi-spec.io', plural: 'traffictargets', versions: ['v1alpha1', 'v1alpha2', 'v1alpha3'] },
} as const;

export type SmiCrd = keyof typeof SMI_CRDS;

/**
 * The SMI kinds as installing their CRDs would serve them: not served until a test registers
 * them (`fake.registerResource(def)` for each, or the server's `smi` option). `served` says which
 * versions each kind's CRD serves (default: every version of `SMI_CRDS`; an empty list leaves the
 * kind out). Unlike a real server, each version is its own store: an object created in one
 * version is not listed in another (a real CRD stores one copy and hands it out in the version
 * asked for), so a test creates objects in the version the controller is expected to read.
 */
export function smiResources(served: Partial<Record<SmiCrd, readonly string[]>> = {}): ResourceDef[] {
  return (Object.entries(SMI_CRDS) as [SmiCrd, (typeof SMI_CRDS)[SmiCrd]][]).flatMap(([kind, crd]) =>
    (served[kind] ?? crd.versions).map((version) => ({ group: crd.group, version, plural: crd.plural, kind, namespaced: true })));
}

export function missingApiError(path: string): ApiError {
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`);
}
