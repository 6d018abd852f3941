/**
 * An in-process Kubernetes API server for tests, speaking the HTTP/JSON protocol that
 * `@kubernetes/client-node` 2 speaks, so informers, relists and reconnects run for real:
 *
 * - paths `/api/v1/...` and `/apis/<group>/<version>/...`, namespaced and all-namespaces,
 *   the `status` subresource, and discovery (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`, `/version`);
 * - list with resourceVersion (+ `resourceVersionMatch=Exact`), label and field selectors,
 *   `limit`/`continue` (410 Expired once the continue token's version is compacted away);
 * - watch (`watch=true|1`) as chunked JSON lines: a replay from a bounded history, ADDED /
 *   MODIFIED / DELETED / BOOKMARK, `allowWatchBookmarks`, `timeoutSeconds`,
 *   `sendInitialEvents`, and an ERROR event carrying a 410 Status (then end of stream) when the
 *   requested version is older than the history kept;
 * - create, get, update (409 on a stale resourceVersion), patch (merge, strategic as merge, JSON
 *   patch, apply as merge), delete (with preconditions), deletecollection; Status bodies for
 *   400/401/404/405/409/410/415/422/504 like the real server;
 * - test controls: cutWatches, endWatches, compact, sendBookmarks, failNext, restart, stop,
 *   request counters (with the bearer token each request carried), direct data access, and
 *   `kubeconfig()`;
 * - Leases (coordination.k8s.io/v1) for leader election; Pods; the Gateway API's HTTPRoute,
 *   GRPCRoute (with `status`) and ReferenceGrant, served unless `gatewayApi: false`; the SMI
 *   kinds (TrafficSplit, HTTPRouteGroup, TCPRoute, UDPRoute, TrafficTarget) in the versions
 *   asked for with the `smi` option (none by default; see `smiResources` for how versions are
 *   kept);
 * - Roles, ClusterRoles and their bindings stored, and SubjectAccessReview and
 *   SelfSubjectAccessReview (for the `users` option's tokens) answered from them like the RBAC
 *   authorizer (fake-apiserver-access.ts).
 *
 * Known differences from a real server: no admission, no RBAC on its own requests, finalizers or garbage collection
 * (a deleted Namespace takes its contents with it at once), no field ownership for apply, no
 * dryRun, strategic merge patches replace lists, core and events.k8s.io Events are separate
 * stores, Services are single-stack IPv4, and a kind served in several versions (SMI) keeps one
 * store per version (a real CRD keeps one copy and hands it out in the version asked for). Unlike a real server it accepts EndpointSlice
 * addresses in 127.0.0.0/8 (the real one answers 422 "may not be in the loopback range"), on
 * purpose: the tests' backends listen on 127.0.0.1. test/cluster/ runs the real one.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { SelectorError } from './fake-apiserver-selectors.ts';
import { ApiError, Store } from './fake-apiserver-store.ts';
import type { KubeObject, Resource, ResourceDef, StatusBody, WatchEvent } from './fake-apiserver-store.ts';
import { builtinResources, gatewayApiResources, missingApiError, smiResources } from './fake-apiserver-resources.ts';
import type { SmiCrd } from './fake-apiserver-resources.ts';
import { accessResources, ADMIN, reviewAccess } from './fake-apiserver-access.ts';
import type { Identity } from './fake-apiserver-access.ts';

export type { KubeObject, ResourceDef };

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestRecord {
  verb: Verb;
  /** `plural` (core) or `plural.group`. */
  resource: string;
  namespace?: string;
  name?: string;
  /** Query parameters as sent. */
  query: Record<string, string>;
  /** HTTP status of the answer (for a watch: of the response head). */
  code?: number;
  /** The bearer token the client sent, if any: tells apart clients given different kubeconfigs. */
  user?: string;
  /** performance.now() when the request's head arrived, and when its answer was written. */
  receivedAt: number;
  answeredAt?: number;
}

export interface FakeApiServerOptions {
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Changes remembered per resource for watch replay (older versions get 410). Default 1000. */
  historyLimit?: number;
  /** Range ClusterIPs come from. Default 10.96.0.0/16 (the first 32 addresses are only given on request). */
  serviceCIDR?: string;
  /** Send a BOOKMARK this often to watches that allow them. Default: only on sendBookmarks(). */
  bookmarkIntervalMs?: number;
  /** Refuse namespaced objects in a Namespace that does not exist (like a real server). Default false. */
  strictNamespaces?: boolean;
  /**
   * Serve the Gateway API kinds (HTTPRoute, GRPCRoute, ReferenceGrant) from the start, as if
   * their CRDs were installed. Default true; false to test a cluster without them (install
   * them later with `registerResource` for each of `gatewayApiResources()`).
   */
  gatewayApi?: boolean;
  /**
   * Serve the SMI kinds from the start, as if their CRDs were installed: `true` for every
   * version of each, or the versions each kind's CRD serves. Default: not served (install them
   * later with `registerResource` for each of `smiResources()`).
   */
  smi?: boolean | Partial<Record<SmiCrd, readonly string[]>>;
  /**
   * More bearer tokens, each a user with groups. They authenticate like `token`, and a
   * SelfSubjectAccessReview is answered for that user (anyone else is an admin, in
   * `system:masters`). The fake's own requests are still not authorized by RBAC.
   */
  users?: Record<string, Identity>;
  /**
   * Answer every write (create, update, patch, delete) this long after it arrived, as a real
   * server's storage would: lets a test see how many writes a client keeps in flight. Default 0.
   */
  writeLatencyMs?: number;
}

interface OpenWatch {
  res: ServerResponse;
  resource: Resource;
  allowBookmarks: boolean;
  close(): void;
}

interface Injected {
  verb: Verb;
  resource: string | undefined;
  code: number;
  remaining: number;
  /** For watches: answer 200 and send the Status as an ERROR event, then end the stream. */
  asWatchEvent: boolean;
}

interface Target {
  resource: Resource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  409: 'Conflict', 410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid',
  429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

const MAX_BODY = 3 * 1024 * 1024;
const WRITES: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

function truthy(v: string | null): boolean {
  return v === 'true' || v === '1';
}

export class FakeApiServer {
  readonly store: Store;
  readonly requests: RequestRecord[] = [];
  private readonly options: FakeApiServerOptions;
  private readonly server: Server;
  private readonly watches = new Set<OpenWatch>();
  private readonly injected: Injected[] = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private connectionCount = 0;

  private constructor(options: FakeApiServerOptions) {
    this.options = options;
    this.store = new Store({ historyLimit: options.historyLimit, strictNamespaces: options.strictNamespaces });
    for (const def of [...builtinResources({ serviceCIDR: options.serviceCIDR ?? '10.96.0.0/16' }), ...accessResources()]) this.store.register(def);
    if (options.gatewayApi !== false) for (const def of gatewayApiResources()) this.registerResource(def);
    if (options.smi !== undefined && options.smi !== false) for (const def of smiResources(options.smi === true ? {} : options.smi)) this.registerResource(def);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.sendError(res, e));
    });
    this.server.on('connection', () => this.connectionCount++);
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(options);
    await s.listen(0);
    if (options.bookmarkIntervalMs) {
      s.bookmarkTimer = setInterval(() => s.sendBookmarks(), options.bookmarkIntervalMs);
      s.bookmarkTimer.unref();
    }
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Connections clients opened so far. */
  get connectionsOpened(): number {
    return this.connectionCount;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** A KubeConfig pointed at this server, with the server's token (or the one given). */
  kubeconfig(options: { token?: string } = {}): KubeConfig {
    const kc = new KubeConfig();
    const token = options.token ?? this.options.token;
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [token === undefined ? { name: 'fake' } : { name: 'fake', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Adds a kind (a custom resource, say) served at /apis/<group>/<version>/<plural>. */
  registerResource(def: ResourceDef): void {
    this.store.register({ typedListItems: true, ...def });
  }

  /**
   * Stops serving `plural.group` in `version` (a CRD deleted, or a version no longer served),
   * with its objects; its open watches end, and later requests get 404.
   */
  unregisterResource(group: string, version: string, plural: string): void {
    const gone = this.store.unregister(group, version, plural);
    for (const w of this.watches) {
      if (w.resource !== gone) continue;
      w.close();
      w.res.end();
    }
  }

  // ---- test controls ----

  /** Drops every open watch abruptly (socket reset, as when a connection is cut). Returns how many. */
  cutWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) {
      w.close();
      w.res.destroy();
    }
    return n;
  }

  /** Ends every open watch cleanly (as when the server's watch timeout expires). Returns how many. */
  endWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) {
      w.close();
      w.res.end();
    }
    return n;
  }

  /** Open watch streams, optionally of one resource (`services`, `endpointslices.discovery.k8s.io`). */
  openWatches(resource?: string): number {
    const only = resource === undefined ? undefined : this.store.resolve(resource);
    let n = 0;
    for (const w of this.watches) if (only === undefined || w.resource === only) n++;
    return n;
  }

  /** Forgets all history: watches and continue tokens from older versions get 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) if (w.allowBookmarks) this.writeEvent(w.res, this.bookmark(w.resource));
  }

  /**
   * The next `times` requests with this verb (and resource) fail with `code` and a Status body;
   * with `asWatchEvent`, a watch gets a 200 stream holding one ERROR event with that Status.
   */
  failNext(verb: Verb, options: { resource?: string; code?: number; times?: number; asWatchEvent?: boolean } = {}): void {
    const resource = options.resource === undefined ? undefined : this.store.resolve(options.resource).qualifiedName;
    this.injected.push({ verb, resource, code: options.code ?? 500, remaining: options.times ?? 1, asWatchEvent: options.asWatchEvent ?? false });
  }

  /** Requests seen with this verb, optionally for one resource. */
  count(verb: Verb, resource?: string): number {
    const name = resource === undefined ? undefined : this.store.resolve(resource).qualifiedName;
    return this.requests.filter((r) => r.verb === verb && (name === undefined || r.resource === name)).length;
  }

  /**
   * Closes the listener and every connection (clients see resets and refused connections),
   * runs `whileDown` (change data here: clients cannot see it), then listens again on the same
   * port with the same data and history.
   */
  async restart(whileDown?: () => void | Promise<void>): Promise<void> {
    await this.close();
    await whileDown?.();
    await this.listen(this.boundPort);
  }

  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    await this.close();
  }

  // ---- direct data access (no HTTP, not counted, but watchers see the changes) ----

  /** Into the version the object's apiVersion names, where the kind is served in several. */
  create<T extends object>(resource: string, obj: T): T & KubeObject {
    const res = this.store.resolve(resource, (obj as Partial<KubeObject>).apiVersion);
    return this.store.create(res, (obj as Partial<KubeObject>).metadata?.namespace, obj) as T & KubeObject;
  }

  get<T extends object = KubeObject>(resource: string, name: string, namespace?: string): T {
    return this.store.get(this.store.resolve(resource), namespace, name) as unknown as T;
  }

  /** Replaces the object (unconditionally unless it carries a resourceVersion). */
  update<T extends object>(resource: string, obj: T): T & KubeObject {
    const o = obj as unknown as KubeObject;
    return this.store.update(this.store.resolve(resource, o.apiVersion), o.metadata.namespace, o.metadata.name!, obj) as T & KubeObject;
  }

  /** JSON merge patch. */
  patch<T extends object = KubeObject>(resource: string, name: string, namespace: string | undefined, patch: object): T {
    return this.store.patch(this.store.resolve(resource), namespace, name, 'application/merge-patch+json', patch) as unknown as T;
  }

  delete(resource: string, name: string, namespace?: string): void {
    this.store.delete(this.store.resolve(resource), namespace, name);
  }

  list<T extends object = KubeObject>(resource: string, namespace?: string): T[] {
    return this.store.list(this.store.resolve(resource), namespace, {}).items as unknown as T[];
  }

  // ---- HTTP ----

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private close(): Promise<void> {
    for (const w of this.watches) w.close();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    if (e instanceof ApiError) this.send(res, e.status.code, e.status);
    else if (e instanceof SelectorError) this.send(res, 400, new ApiError(400, 'BadRequest', `unable to parse requirement: ${e.message}`).status);
    else this.send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${String(e)}`).status);
  }

  private status(code: number, message: string): StatusBody {
    return new ApiError(code, REASONS[code] ?? 'Unknown', message).status;
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private parseBody(text: string, contentType: string): unknown {
    try {
      return contentType.startsWith('application/apply-patch+yaml') ? parseYaml(text) : JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, 'BadRequest', `the body of the request could not be decoded: ${(e as Error).message}`);
    }
  }

  private discovery(segs: string[]): unknown {
    const resources = this.store.all();
    const groups = [...new Set(resources.filter((r) => r.def.group !== '').map((r) => r.def.group))];
    const versionsOf = (g: string): string[] => [...new Set(resources.filter((r) => r.def.group === g).map((r) => r.def.version))];
    const groupInfo = (g: string) => {
      const versions = versionsOf(g).map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
      return { name: g, versions, preferredVersion: versions[0] };
    };
    const resourceList = (g: string, v: string) => {
      const list = resources.filter((r) => r.def.group === g && r.def.version === v);
      if (list.length === 0) return undefined;
      return {
        kind: 'APIResourceList', apiVersion: 'v1', groupVersion: g === '' ? v : `${g}/${v}`,
        resources: list.flatMap((r) => {
          const main = {
            name: r.def.plural, singularName: r.def.kind.toLowerCase(), namespaced: r.def.namespaced, kind: r.def.kind,
            verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          };
          const status = { name: `${r.def.plural}/status`, singularName: '', namespaced: r.def.namespaced, kind: r.def.kind, verbs: ['get', 'patch', 'update'] };
          return r.def.statusSubresource ? [main, status] : [main];
        }),
      };
    };
    if (segs[0] === 'version' && segs.length === 1) return { major: '1', minor: '33', gitVersion: 'v1.33.0-fake', platform: 'linux/amd64' };
    if (segs[0] === 'api' && segs.length === 1) return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (segs[0] === 'api' && segs.length === 2) return resourceList('', segs[1]!);
    if (segs[0] === 'apis' && segs.length === 1) return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupInfo) };
    if (segs[0] === 'apis' && segs.length === 2 && groups.includes(segs[1]!)) return { kind: 'APIGroup', apiVersion: 'v1', ...groupInfo(segs[1]!) };
    if (segs[0] === 'apis' && segs.length === 3) return resourceList(segs[1]!, segs[2]!);
    return undefined;
  }

  /** Maps a path to its resource, namespace, name and subresource; undefined for unknown paths. */
  private target(segs: string[]): Target | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) [group, version, rest] = ['', segs[1]!, segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 4) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
    else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && this.store.find(group, version, rest[2]!)?.def.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length > 3) return undefined;
    const [plural, name, subresource] = rest;
    const resource = this.store.find(group, version, plural!);
    if (!resource) return undefined;
    if (resource.def.namespaced && namespace === undefined && name !== undefined) return undefined;
    if (subresource !== undefined && !(subresource === 'status' && resource.def.statusSubresource)) return undefined;
    return { resource, namespace, name, subresource };
  }

  private verbOf(method: string | undefined, t: Target, watch: boolean): Verb | undefined {
    const named = t.name !== undefined;
    switch (method) {
      case 'GET': return named ? 'get' : watch ? 'watch' : 'list';
      case 'POST': return !named && (t.namespace !== undefined || !t.resource.def.namespaced) ? 'create' : undefined;
      case 'PUT': return named ? 'update' : undefined;
      case 'PATCH': return named ? 'patch' : undefined;
      case 'DELETE': return named ? 'delete' : 'deletecollection';
      default: return undefined;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bearer = req.headers.authorization?.startsWith('Bearer ') === true ? req.headers.authorization.slice(7) : undefined;
    const identity = bearer === undefined ? undefined : this.options.users?.[bearer];
    if (this.options.token !== undefined && bearer !== this.options.token && identity === undefined) {
      this.send(res, 401, this.status(401, 'Unauthorized'));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const segs = url.pathname.split('/').filter((s) => s !== '');
    const t = this.target(segs);
    if (!t) {
      const info = req.method === 'GET' ? this.discovery(segs) : undefined;
      if (info) this.send(res, 200, info);
      else this.sendError(res, missingApiError(url.pathname));
      return;
    }
    const q = url.searchParams;
    const verb = this.verbOf(req.method, t, truthy(q.get('watch')));
    if (!verb) {
      this.send(res, 405, this.status(405, `the server does not allow this method on the requested resource`));
      return;
    }
    const record: RequestRecord = { verb, resource: t.resource.qualifiedName, namespace: t.namespace, name: t.name, query: Object.fromEntries(q), receivedAt: performance.now() };
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) record.user = auth.slice(7);
    this.requests.push(record);
    res.on('finish', () => {
      record.code = res.statusCode;
      record.answeredAt = performance.now();
    });
    const inject = this.injected.find((i) => i.verb === verb && (i.resource === undefined || i.resource === record.resource) && i.remaining > 0);
    if (inject) {
      inject.remaining--;
      const status = this.status(inject.code, `injected failure for ${verb} ${record.resource}`);
      if (inject.asWatchEvent && verb === 'watch') {
        res.writeHead(200, { 'content-type': 'application/json' });
        this.writeEvent(res, { type: 'ERROR', object: status });
        res.end();
      } else {
        this.send(res, inject.code, status);
      }
      return;
    }
    if (q.has('dryRun')) throw new ApiError(400, 'BadRequest', 'dryRun is not supported by the fake API server');
    const latency = this.options.writeLatencyMs ?? 0;
    if (latency > 0 && WRITES.has(verb)) await new Promise((resolve) => setTimeout(resolve, latency));
    const { resource, namespace, name, subresource } = t;
    const contentType = req.headers['content-type'] ?? 'application/json';
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method!) ? await this.readBody(req) : '';
    if (resource.def.kind === 'SubjectAccessReview' || resource.def.kind === 'SelfSubjectAccessReview') {
      if (verb === 'create') this.send(res, 201, reviewAccess(this.store, this.parseBody(body, contentType), resource.def.kind === 'SelfSubjectAccessReview' ? identity ?? ADMIN : undefined));
      else this.send(res, 405, this.status(405, 'the server does not allow this method on the requested resource'));
      return;
    }
    switch (verb) {
      case 'get':
        this.send(res, 200, this.store.get(resource, namespace, name!));
        return;
      case 'list': {
        const limit = q.get('limit');
        const result = this.store.list(resource, namespace, {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
          limit: limit === null ? undefined : Number(limit),
          continue: q.get('continue') ?? undefined,
        });
        const items = resource.def.typedListItems ? result.items : result.items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
        const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
        if (result.continue) metadata.continue = result.continue;
        if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
        this.send(res, 200, { kind: `${resource.def.kind}List`, apiVersion: resource.apiVersion, metadata, items });
        return;
      }
      case 'watch':
        this.watch(res, resource, namespace, q);
        return;
      case 'create':
        this.send(res, 201, this.store.create(resource, namespace, this.parseBody(body, contentType)));
        return;
      case 'update':
        this.send(res, 200, this.store.update(resource, namespace, name!, this.parseBody(body, contentType), subresource));
        return;
      case 'patch':
        this.send(res, 200, this.store.patch(resource, namespace, name!, contentType, this.parseBody(body, contentType), subresource));
        return;
      case 'delete': {
        const options = body.trim() === '' ? {} : (this.parseBody(body, 'application/json') as { preconditions?: { uid?: string; resourceVersion?: string } });
        const gone = this.store.delete(resource, namespace, name!, options?.preconditions);
        if (resource.def.returnDeletedObject) this.send(res, 200, gone);
        else this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: resource.def.group, kind: resource.def.plural, uid: gone.metadata.uid } });
        return;
      }
      case 'deletecollection': {
        const { items } = this.store.list(resource, namespace, { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined });
        for (const obj of items) this.store.delete(resource, obj.metadata.namespace, obj.metadata.name!);
        this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
        return;
      }
    }
  }

  private bookmark(resource: Resource, annotations?: Record<string, string>): WatchEvent {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRv) };
    if (annotations) metadata.annotations = annotations;
    return { type: 'BOOKMARK', object: { kind: resource.def.kind, apiVersion: resource.apiVersion, metadata } };
  }

  private writeEvent(res: ServerResponse, event: WatchEvent): void {
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
  }

  private watch(res: ServerResponse, resource: Resource, namespace: string | undefined, q: URLSearchParams): void {
    const allowBookmarks = truthy(q.get('allowWatchBookmarks'));
    const sendInitialEvents = truthy(q.get('sendInitialEvents'));
    const started = this.store.watch(resource, namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      sendInitialEvents,
    }, (event) => this.writeEvent(res, event));
    if ('tooLarge' in started) {
      this.send(res, 504, this.status(504, started.tooLarge));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    if ('expired' in started) {
      // What the watch cache does: a 200 stream whose only event is an ERROR with a 410 Status.
      this.writeEvent(res, { type: 'ERROR', object: this.status(410, started.expired) });
      res.end();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const w: OpenWatch = {
      res,
      resource,
      allowBookmarks,
      close: () => {
        started.unsubscribe();
        clearTimeout(timer);
        this.watches.delete(w);
      },
    };
    this.watches.add(w);
    res.on('close', w.close);
    for (const event of started.initial) this.writeEvent(res, event);
    if (sendInitialEvents && allowBookmarks) this.writeEvent(res, this.bookmark(resource, { 'k8s.io/initial-events-end': 'true' }));
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0) {
      timer = setTimeout(() => {
        w.close();
        res.end();
      }, timeout * 1000);
      timer.unref();
    }
  }
}
