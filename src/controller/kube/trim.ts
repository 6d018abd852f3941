/**
 * Informer objects cut down on arrival to what the controller reads (issue 12: at 10,000
 * Services the caches were the largest part of the controller's heap). Kept: the fields
 * objects.ts types, which are all translation, the shadow reconciler, Events and the DNS
 * reconciler read, plus what the informer itself needs (name, namespace, resourceVersion).
 * Dropped: `metadata.managedFields` (often the largest part of an object read from a real API
 * server), `creationTimestamp`, owner references, the `kubectl apply` copy of the whole object
 * (`kubectl.kubernetes.io/last-applied-configuration`), a Service's and an EndpointSlice's
 * status and hints, and everything of a Pod but its addresses, phase, node and ServiceAccount.
 *
 * Each function returns a new object of plain JSON (listed objects come as client model
 * classes) and never changes its argument; an object without a name is returned as it is (the
 * source leaves it out of every snapshot anyway). The result is built by JSON.parse: objects
 * made that way hold their fields in place, while fields added one by one to a literal go to a
 * separate store (30 to 40 bytes more per object).
 */
import type { EndpointSliceObject, ObjectMeta, PodObject, ServiceObject } from '../objects.ts';

type Meta = ObjectMeta & Record<string, unknown>;
type Item = { metadata?: Meta } & Record<string, unknown>;

/** The whole object as `kubectl apply` last wrote it: as large as the object, read by no one here. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

function trimMeta(m: Meta, keepOwners: boolean): ObjectMeta {
  const out: ObjectMeta & Record<string, unknown> = { name: m.name };
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.uid !== undefined) out.uid = m.uid;
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.labels !== undefined) out.labels = m.labels;
  const annotations = m.annotations;
  if (annotations !== undefined) {
    if (annotations !== null && typeof annotations === 'object' && LAST_APPLIED_ANNOTATION in annotations) {
      const { [LAST_APPLIED_ANNOTATION]: _, ...rest } = annotations;
      out.annotations = rest;
    } else {
      out.annotations = annotations;
    }
  }
  // A PUT without them would remove them: kept on objects the controller writes back.
  if (keepOwners) {
    if (m.ownerReferences !== undefined) out.ownerReferences = m.ownerReferences;
    if (m.finalizers !== undefined) out.finalizers = m.finalizers;
  }
  return out;
}

/** A deep copy as plain JSON (client model classes, Dates, undefined fields and all). */
const compact = (obj: unknown): unknown => JSON.parse(JSON.stringify(obj)) as unknown;

const named = (obj: unknown): obj is Item & { metadata: Meta } =>
  obj !== null && typeof obj === 'object' && typeof (obj as Item).metadata?.name === 'string';

/** apiVersion and kind, when present, first (as the API server writes them). */
function head(obj: Item): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (obj.apiVersion !== undefined) out.apiVersion = obj.apiVersion;
  if (obj.kind !== undefined) out.kind = obj.kind;
  return out;
}

/**
 * A Service: metadata and spec. `writable` (the mesh namespace's Services, which the controller
 * updates with a PUT of the object it read) also keeps owner references and finalizers; a
 * PUT keeps the server's managed fields and status when they are left out.
 */
export function trimService(obj: unknown, writable = false): unknown {
  if (!named(obj)) return obj;
  const out = head(obj);
  out.metadata = trimMeta(obj.metadata, writable);
  if (obj.spec !== undefined) out.spec = obj.spec;
  return compact(out) as ServiceObject;
}

type Endpoint = NonNullable<EndpointSliceObject['endpoints']>[number];
type Conditions = NonNullable<Endpoint['conditions']>;

/** One shared object per combination of the three conditions: 100,000 endpoints hold a handful. */
const conditionObjects = new Map<string, Conditions>();

function conditions(c: unknown): unknown {
  if (c === null || typeof c !== 'object') return c;
  const { ready, serving, terminating, ...rest } = c as Conditions & Record<string, unknown>;
  const flag = (v: unknown): boolean => v === undefined || v === null || typeof v === 'boolean';
  // Anything unexpected stays as it came (translation checks it).
  if (Object.keys(rest).length > 0 || !flag(ready) || !flag(serving) || !flag(terminating)) return c;
  const key = `${String(ready)},${String(serving)},${String(terminating)}`;
  let shared = conditionObjects.get(key);
  if (shared === undefined) {
    shared = {};
    if (ready !== undefined) shared.ready = ready;
    if (serving !== undefined) shared.serving = serving;
    if (terminating !== undefined) shared.terminating = terminating;
    conditionObjects.set(key, Object.freeze(shared));
  }
  return shared;
}

function trimEndpoint(e: unknown): unknown {
  if (e === null || typeof e !== 'object') return e;
  const src = e as Endpoint & Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (src.addresses !== undefined) out.addresses = src.addresses;
  if (src.conditions !== undefined) out.conditions = src.conditions;
  if (src.nodeName !== undefined) out.nodeName = src.nodeName;
  if (src.zone !== undefined) out.zone = src.zone;
  const ref = src.targetRef;
  if (ref !== undefined) {
    if (ref === null || typeof ref !== 'object') out.targetRef = ref;
    else {
      const r: Record<string, unknown> = {};
      if (ref.kind !== undefined) r.kind = ref.kind;
      if (ref.namespace !== undefined) r.namespace = ref.namespace;
      if (ref.name !== undefined) r.name = ref.name;
      out.targetRef = r;
    }
  }
  return out;
}

/** An EndpointSlice: metadata, address type, ports, and per endpoint its addresses, conditions, node, zone and target. */
export function trimEndpointSlice(obj: unknown): unknown {
  if (!named(obj)) return obj;
  const out = head(obj);
  out.metadata = trimMeta(obj.metadata, false);
  if (obj.addressType !== undefined) out.addressType = obj.addressType;
  const endpoints = obj.endpoints;
  if (endpoints !== undefined) out.endpoints = Array.isArray(endpoints) ? endpoints.map(trimEndpoint) : endpoints;
  if (obj.ports !== undefined) out.ports = obj.ports;
  const slice = compact(out) as EndpointSliceObject;
  // After the copy: equal conditions share one object.
  if (Array.isArray(slice.endpoints)) {
    for (const e of slice.endpoints) if (e !== null && typeof e === 'object' && e.conditions !== undefined) e.conditions = conditions(e.conditions) as Conditions;
  }
  return slice;
}

/** A Pod: metadata, its ServiceAccount, node and host networking, and its addresses and phase. */
export function trimPod(obj: unknown): unknown {
  if (!named(obj)) return obj;
  const out = head(obj);
  out.metadata = trimMeta(obj.metadata, false);
  const spec = obj.spec as (PodObject['spec'] & Record<string, unknown>) | undefined;
  if (spec !== null && typeof spec === 'object') {
    const s: Record<string, unknown> = {};
    for (const k of ['serviceAccountName', 'serviceAccount', 'nodeName', 'hostNetwork'] as const) if (spec[k] !== undefined) s[k] = spec[k];
    out.spec = s;
  } else if (spec !== undefined) {
    out.spec = spec;
  }
  const status = obj.status as (PodObject['status'] & Record<string, unknown>) | undefined;
  if (status !== null && typeof status === 'object') {
    const s: Record<string, unknown> = {};
    for (const k of ['podIP', 'podIPs', 'phase'] as const) if (status[k] !== undefined) s[k] = status[k];
    out.status = s;
  } else if (status !== undefined) {
    out.status = status;
  }
  return compact(out) as PodObject;
}

/** An object of a namespace the source ignores: only what the informer needs to follow it. */
export function stub(obj: unknown): unknown {
  if (!named(obj)) return obj;
  const m = obj.metadata;
  const metadata: ObjectMeta = { name: m.name };
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  return compact({ ...head(obj), metadata });
}
