/**
 * The fake API server's storage: a generic registry of resources keyed by group/version/plural,
 * one global monotonically increasing resourceVersion (like etcd's revision), a bounded history
 * of changes per resource for watch replay and consistent paginated lists, and the write rules
 * of the real server (uid, creationTimestamp, generation, conflicts, no-op updates that do not
 * bump the resourceVersion). Everything here is synchronous, so a watch registered and replayed
 * in one call never misses a change.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PatchError, jsonPatch, mergePatch } from './fake-apiserver-patch.ts';
import { fieldMatcher, labelMatcher } from './fake-apiserver-selectors.ts';
import type { KubeObject } from './fake-apiserver-selectors.ts';

export type { KubeObject };

/** A `metav1.Status` failure body. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: FieldCause[] };
  code: number;
}

export interface FieldCause {
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueDuplicate' | 'FieldValueNotSupported';
  message: string;
  field: string;
}

/** A failure the server answers with a Status body and its code. */
export class ApiError extends Error {
  readonly status: StatusBody;
  constructor(code: number, reason: string, message: string, details?: StatusBody['details']) {
    super(message);
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }
}

export type NameRule = 'dns1035' | 'dns1123-label' | 'dns1123-subdomain';

export interface ResourceDef {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  nameRule?: NameRule;
  /** Field-selector keys beyond `metadata.name` and `metadata.namespace`. */
  fields?: Record<string, (obj: KubeObject) => string | undefined>;
  /** Built-in lists omit apiVersion/kind on items; custom resources keep them. */
  typedListItems?: boolean;
  /** DELETE answers with the deleted object instead of a Status (Services do). */
  returnDeletedObject?: boolean;
  /** PUT/PATCH of the main resource keeps `status`; only the `/status` subresource changes it. */
  statusSubresource?: boolean;
  /** Field defaults applied before validation on create and update (the server's defaulting). */
  defaults?(obj: KubeObject): void;
  /** Allocation on create, after validation. Throw ApiError to refuse. */
  onCreate?(obj: KubeObject): void;
  /** Defaulting and immutability checks on update. Throw ApiError to refuse. */
  onUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Releases what onCreate allocated. */
  onDelete?(obj: KubeObject): void;
  /** Problems that make the object invalid (422). */
  validate?(obj: KubeObject): FieldCause[];
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  type: ChangeType;
  rv: number;
  /** The object after the change (for DELETED: the last state, carrying the deletion's rv). */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). */
  previous?: KubeObject;
}

export interface WatchEvent {
  type: ChangeType | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export class Resource {
  readonly def: ResourceDef;
  readonly key: string;
  readonly apiVersion: string;
  readonly objects = new Map<string, KubeObject>();
  history: Change[] = [];
  /** Watches and consistent lists need every change after their version: valid from here on. */
  compactedRv = 0;
  readonly listeners = new Set<(change: Change) => void>();
  readonly fields: ReadonlyMap<string, (obj: KubeObject) => string | undefined>;

  constructor(def: ResourceDef) {
    this.def = def;
    this.key = resourceKey(def.group, def.version, def.plural);
    this.apiVersion = def.group === '' ? def.version : `${def.group}/${def.version}`;
    this.fields = new Map<string, (obj: KubeObject) => string | undefined>([
      ['metadata.name', (o) => o.metadata.name],
      ['metadata.namespace', (o) => o.metadata.namespace],
      ...Object.entries(def.fields ?? {}),
    ]);
  }

  /** `plural` for the core group, `plural.group` otherwise (kubectl's spelling). */
  get qualifiedName(): string {
    return this.def.group === '' ? this.def.plural : `${this.def.plural}.${this.def.group}`;
  }
}

export function resourceKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

const NAME_RULES: Record<NameRule, { re: RegExp; max: number; what: string }> = {
  'dns1035': { re: /^[a-z]([-a-z0-9]*[a-z0-9])?$/, max: 63, what: 'a DNS-1035 label (lower case alphanumerics and "-", starting with a letter)' },
  'dns1123-label': { re: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, max: 63, what: 'a DNS-1123 label (lower case alphanumerics and "-")' },
  'dns1123-subdomain': { re: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, max: 253, what: 'a DNS-1123 subdomain' },
};

export function invalid(kind: string, name: string | undefined, causes: FieldCause[]): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${kind} "${name ?? ''}" is invalid: ${summary}`, { name, kind, causes });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    isObject(value) ? Object.fromEntries(Object.keys(value).toSorted().map((k) => [k, value[k]])) : value);
}

function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface ContinueToken { rv: number; start: string }

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof t.rv === 'number' && typeof t.start === 'string') return t;
  } catch { /* fall through */ }
  throw new ApiError(400, 'BadRequest', `continue key is not valid: ${text}`);
}

function parseRv(text: string): number {
  if (!/^\d+$/.test(text)) throw new ApiError(400, 'BadRequest', `resourceVersion: Invalid value: "${text}": must be a non-negative integer`);
  return Number(text);
}

export class Store {
  private rv = 0;
  private readonly resources = new Map<string, Resource>();
  readonly historyLimit: number;
  /** When true, namespaced objects can be created only in an existing Namespace. */
  strictNamespaces: boolean;

  constructor(options: { historyLimit?: number; strictNamespaces?: boolean } = {}) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.strictNamespaces = options.strictNamespaces ?? false;
  }

  get currentRv(): number {
    return this.rv;
  }

  register(def: ResourceDef): Resource {
    const res = new Resource(def);
    if (this.resources.has(res.key)) throw new Error(`resource ${res.key} is already registered`);
    this.resources.set(res.key, res);
    return res;
  }

  /** Stops serving a kind (its CRD deleted, or one version no longer served): its objects go with it. */
  unregister(group: string, version: string, plural: string): Resource | undefined {
    const key = resourceKey(group, version, plural);
    const res = this.resources.get(key);
    this.resources.delete(key);
    return res;
  }

  all(): Resource[] {
    return [...this.resources.values()];
  }

  find(group: string, version: string, plural: string): Resource | undefined {
    return this.resources.get(resourceKey(group, version, plural));
  }

  /**
   * `services`, `deployments.apps`, `events.events.k8s.io`: the core group wins a bare plural.
   * A kind served in several versions: the one of `apiVersion` (or a name spelled
   * `plural.group/version`) when given, else the first registered.
   */
  resolve(spelled: string, apiVersion?: string): Resource {
    const slash = spelled.indexOf('/');
    const name = slash < 0 ? spelled : spelled.slice(0, slash);
    if (slash >= 0) apiVersion = `${name.slice(name.indexOf('.') + 1)}/${spelled.slice(slash + 1)}`;
    const matches = this.all().filter((r) => r.qualifiedName === name || (r.def.plural === name));
    const exact = matches.find((r) => r.qualifiedName === name && r.apiVersion === apiVersion) ?? matches.find((r) => r.qualifiedName === name);
    const found = exact ?? (matches.length === 1 ? matches[0] : undefined);
    if (!found) throw new Error(`unknown or ambiguous resource "${name}"`);
    return found;
  }

  private objectKey(res: Resource, namespace: string | undefined, name: string): string {
    return res.def.namespaced ? `${namespace ?? ''}/${name}` : name;
  }

  private notFound(res: Resource, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${res.qualifiedName} "${name}" not found`, { name, group: res.def.group, kind: res.def.plural });
  }

  private commit(res: Resource, change: Change): void {
    res.history.push(change);
    if (res.history.length > this.historyLimit) {
      const dropped = res.history.shift()!;
      res.compactedRv = dropped.rv;
    }
    for (const listener of res.listeners) listener(change);
  }

  /** Forgets all history: a watch or continue from any older version now gets 410 Gone. */
  compact(): void {
    for (const res of this.resources.values()) {
      res.history = [];
      res.compactedRv = this.rv;
    }
  }

  private checkBody(res: Resource, body: unknown): KubeObject {
    if (!isObject(body) || !isObject(body.metadata)) {
      throw new ApiError(400, 'BadRequest', `the body of the request is not a ${res.def.kind} object`);
    }
    const obj = structuredClone(body) as KubeObject;
    if (obj.apiVersion !== undefined && obj.apiVersion !== res.apiVersion) {
      throw new ApiError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${res.apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== res.def.kind) {
      throw new ApiError(400, 'BadRequest', `the kind in the data (${obj.kind}) does not match the expected kind (${res.def.kind})`);
    }
    obj.apiVersion = res.apiVersion;
    obj.kind = res.def.kind;
    return obj;
  }

  private placeNamespace(res: Resource, obj: KubeObject, namespace: string | undefined): void {
    if (!res.def.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const own = obj.metadata.namespace;
    if (own !== undefined && own !== '' && namespace !== undefined && own !== namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const ns = namespace ?? own;
    if (ns === undefined || ns === '') throw new ApiError(400, 'BadRequest', 'a namespace is required for a namespaced resource');
    obj.metadata.namespace = ns;
  }

  private validate(res: Resource, obj: KubeObject): void {
    const causes: FieldCause[] = [];
    const name = obj.metadata.name;
    const rule = NAME_RULES[res.def.nameRule ?? 'dns1123-subdomain'];
    if (!name) causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' });
    else if (name.length > rule.max || !rule.re.test(name)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": must be ${rule.what} of at most ${rule.max} characters` });
    }
    for (const [field, map] of [['metadata.labels', obj.metadata.labels], ['metadata.annotations', obj.metadata.annotations]] as const) {
      if (map === undefined) continue;
      if (!isObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
        causes.push({ reason: 'FieldValueInvalid', field, message: 'values must be strings' });
      }
    }
    causes.push(...(res.def.validate?.(obj) ?? []));
    if (causes.length > 0) throw invalid(res.def.kind, name, causes);
  }

  create(res: Resource, namespace: string | undefined, body: unknown): KubeObject {
    const obj = this.checkBody(res, body);
    this.placeNamespace(res, obj, namespace);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomBytes(4).toString('hex').slice(0, 5);
    res.def.defaults?.(obj);
    this.validate(res, obj);
    const name = meta.name!;
    const key = this.objectKey(res, meta.namespace, name);
    if (res.objects.has(key)) {
      throw new ApiError(409, 'AlreadyExists', `${res.qualifiedName} "${name}" already exists`, { name, group: res.def.group, kind: res.def.plural });
    }
    if (res.def.namespaced && this.strictNamespaces && !this.resolve('namespaces').objects.has(meta.namespace!)) {
      throw new ApiError(404, 'NotFound', `namespaces "${meta.namespace}" not found`, { name: meta.namespace, kind: 'namespaces' });
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = nowSeconds();
    if (obj.spec !== undefined) meta.generation = 1;
    else delete meta.generation;
    res.def.onCreate?.(obj);
    meta.resourceVersion = String(++this.rv);
    res.objects.set(key, obj);
    this.commit(res, { type: 'ADDED', rv: this.rv, object: obj });
    return structuredClone(obj);
  }

  get(res: Resource, namespace: string | undefined, name: string): KubeObject {
    const obj = res.objects.get(this.objectKey(res, namespace, name));
    if (!obj) throw this.notFound(res, name);
    return structuredClone(obj);
  }

  /** PUT. `subresource` is `status` or undefined. */
  update(res: Resource, namespace: string | undefined, name: string, body: unknown, subresource?: string): KubeObject {
    const incoming = this.checkBody(res, body);
    this.placeNamespace(res, incoming, namespace);
    if (incoming.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${incoming.metadata.name ?? ''}) does not match the name on the URL (${name})`);
    }
    const key = this.objectKey(res, namespace, name);
    const old = res.objects.get(key);
    if (!old) throw this.notFound(res, name);
    const given = incoming.metadata.resourceVersion;
    if (given !== undefined && given !== '' && given !== old.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict',
        `Operation cannot be fulfilled on ${res.qualifiedName} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: res.def.group, kind: res.def.plural });
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = structuredClone(old);
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      next = incoming;
      if (res.def.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = structuredClone(old.status);
      }
    }
    // Server-owned metadata survives whatever the client sent.
    next.metadata.uid = old.metadata.uid;
    next.metadata.creationTimestamp = old.metadata.creationTimestamp;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.generation !== undefined) next.metadata.generation = old.metadata.generation;
    else delete next.metadata.generation;
    res.def.defaults?.(next);
    this.validate(res, next);
    res.def.onUpdate?.(next, old);
    if (canonicalJson(next) === canonicalJson(old)) return structuredClone(old);
    if (old.metadata.generation !== undefined && canonicalJson(next.spec) !== canonicalJson(old.spec)) {
      next.metadata.generation = old.metadata.generation + 1;
    }
    next.metadata.resourceVersion = String(++this.rv);
    res.objects.set(key, next);
    this.commit(res, { type: 'MODIFIED', rv: this.rv, object: next, previous: old });
    return structuredClone(next);
  }

  /**
   * PATCH with the request's Content-Type. Server-side apply (`application/apply-patch+yaml`)
   * is approximated as a merge patch that creates the object when it is absent, without field
   * ownership.
   */
  patch(res: Resource, namespace: string | undefined, name: string, contentType: string, patch: unknown, subresource?: string): KubeObject {
    const key = this.objectKey(res, namespace, name);
    const old = res.objects.get(key);
    const type = contentType.split(';')[0]!.trim();
    if (!old) {
      if (type === 'application/apply-patch+yaml' && subresource === undefined) {
        return this.create(res, namespace, { ...(patch as object), metadata: { ...(patch as KubeObject).metadata, name } });
      }
      throw this.notFound(res, name);
    }
    let patched: unknown;
    try {
      switch (type) {
        case 'application/merge-patch+json':
        case 'application/strategic-merge-patch+json':
        case 'application/apply-patch+yaml':
          patched = mergePatch(old, patch);
          break;
        case 'application/json-patch+json':
          patched = jsonPatch(old, patch);
          break;
        default:
          throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`);
      }
    } catch (e) {
      if (e instanceof PatchError) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`);
      throw e;
    }
    if (!isObject(patched) || !isObject(patched.metadata)) throw new ApiError(422, 'Invalid', 'the patch removed the object metadata');
    // A patch that renames or moves the object is refused by update() as the real server does:
    // 400 "the name of the object (...) does not match the name on the URL (...)".
    if (subresource === 'status') return this.update(res, namespace, name, patched, 'status');
    // A main-resource patch cannot change status when the resource has a status subresource.
    return this.update(res, namespace, name, patched);
  }

  delete(res: Resource, namespace: string | undefined, name: string, preconditions?: { uid?: string; resourceVersion?: string }): KubeObject {
    const key = this.objectKey(res, namespace, name);
    const old = res.objects.get(key);
    if (!old) throw this.notFound(res, name);
    if (preconditions?.uid && preconditions.uid !== old.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${old.metadata.uid}`, { name, kind: res.def.plural });
    }
    if (preconditions?.resourceVersion && preconditions.resourceVersion !== old.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in meta: ${old.metadata.resourceVersion}`, { name, kind: res.def.plural });
    }
    // Namespace deletion is immediate here (no Terminating phase): its contents go first.
    if (res.def.group === '' && res.def.plural === 'namespaces') {
      for (const other of this.resources.values()) {
        if (!other.def.namespaced) continue;
        for (const obj of other.objects.values()) {
          if (obj.metadata.namespace === name) this.delete(other, name, obj.metadata.name!);
        }
      }
    }
    res.def.onDelete?.(old);
    res.objects.delete(key);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.commit(res, { type: 'DELETED', rv: this.rv, object: gone, previous: old });
    return structuredClone(gone);
  }

  /** The objects as they were at `rv`, or undefined when history no longer reaches back there. */
  private stateAt(res: Resource, rv: number): Map<string, KubeObject> | undefined {
    if (rv < res.compactedRv || rv > this.rv) return undefined;
    const state = new Map(res.objects);
    for (let i = res.history.length - 1; i >= 0; i--) {
      const change = res.history[i]!;
      if (change.rv <= rv) break;
      const key = this.objectKey(res, change.object.metadata.namespace, change.object.metadata.name!);
      if (change.type === 'ADDED') state.delete(key);
      else state.set(key, change.previous!);
    }
    return state;
  }

  matcher(res: Resource, namespace: string | undefined, options: { labelSelector?: string; fieldSelector?: string }): (obj: KubeObject) => boolean {
    const labels = labelMatcher(options.labelSelector);
    const fields = fieldMatcher(options.fieldSelector, res.fields);
    return (obj) => (namespace === undefined || obj.metadata.namespace === namespace) && labels(obj.metadata.labels) && fields(obj);
  }

  list(res: Resource, namespace: string | undefined, options: ListOptions): ListResult {
    const matches = this.matcher(res, namespace, options);
    let listRv = this.rv;
    let state: Map<string, KubeObject> = res.objects;
    let start = '';
    if (options.continue) {
      const token = decodeContinue(options.continue);
      const past = this.stateAt(res, token.rv);
      if (!past) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      state = past;
      listRv = token.rv;
      start = token.start;
    } else if (options.resourceVersion !== undefined && options.resourceVersion !== '' && options.resourceVersion !== '0') {
      const rv = parseRv(options.resourceVersion);
      if (rv > this.rv) throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.rv}`);
      if (options.resourceVersionMatch === 'Exact') {
        const past = this.stateAt(res, rv);
        if (!past) throw new ApiError(410, 'Expired', `too old resource version: ${rv} (${res.compactedRv})`);
        state = past;
        listRv = rv;
      }
    }
    const keys = [...state.keys()].filter((k) => k > start).toSorted();
    const selected: [string, KubeObject][] = [];
    for (const k of keys) {
      const obj = state.get(k)!;
      if (matches(obj)) selected.push([k, obj]);
    }
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : selected.length;
    const page = selected.slice(0, limit);
    const result: ListResult = {
      items: page.map(([, obj]) => structuredClone(obj)),
      resourceVersion: String(listRv),
    };
    if (page.length < selected.length) {
      result.continue = encodeContinue({ rv: listRv, start: page.at(-1)![0] });
      if (!options.labelSelector && !options.fieldSelector) result.remainingItemCount = selected.length - page.length;
    }
    return result;
  }

  /**
   * Starts a watch: returns the events to send first (a replay after `resourceVersion`, or
   * synthetic ADDED events for the current state when it is unset or "0") and subscribes `sink`
   * to later changes. Returns `expired` when the version is older than the history kept.
   */
  watch(
    res: Resource,
    namespace: string | undefined,
    options: { labelSelector?: string; fieldSelector?: string; resourceVersion?: string; sendInitialEvents?: boolean },
    sink: (event: WatchEvent) => void,
  ): { initial: WatchEvent[]; unsubscribe: () => void } | { expired: string } | { tooLarge: string } {
    const matches = this.matcher(res, namespace, options);
    const project = (change: Change): WatchEvent | undefined => {
      const now = matches(change.object);
      if (change.type !== 'MODIFIED') return now ? { type: change.type, object: structuredClone(change.object) } : undefined;
      const before = change.previous !== undefined && matches(change.previous);
      if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: structuredClone(change.object) };
      if (!before) return undefined;
      // Left the selection: a DELETED carrying the last matching state at this event's version.
      const last = structuredClone(change.previous!);
      last.metadata.resourceVersion = String(change.rv);
      return { type: 'DELETED', object: last };
    };
    const rvText = options.resourceVersion ?? '';
    const initial: WatchEvent[] = [];
    if (rvText === '' || rvText === '0' || options.sendInitialEvents) {
      const keys = [...res.objects.keys()].toSorted();
      for (const k of keys) {
        const obj = res.objects.get(k)!;
        if (matches(obj)) initial.push({ type: 'ADDED', object: structuredClone(obj) });
      }
    } else {
      const rv = parseRv(rvText);
      if (rv < res.compactedRv) return { expired: `too old resource version: ${rv} (${res.compactedRv})` };
      if (rv > this.rv) return { tooLarge: `Too large resource version: ${rv}, current: ${this.rv}` };
      for (const change of res.history) {
        if (change.rv <= rv) continue;
        const ev = project(change);
        if (ev) initial.push(ev);
      }
    }
    const listener = (change: Change): void => {
      const ev = project(change);
      if (ev) sink(ev);
    };
    res.listeners.add(listener);
    return { initial, unsubscribe: () => res.listeners.delete(listener) };
  }
}
