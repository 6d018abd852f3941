/**
 * Gateway API routes on Services (GAMMA) -> route rules, per Service port (docs/gateway-api.md).
 * Pure: translate() makes one of these per translation from the cluster state, asks it for
 * each port of a Service some route names as its parent (`route()`), and at the end for the
 * status each route's parents should show and the diagnostics (`finish()`).
 *
 * Per port, the rules come in groups, each ordered by the spec's precedence (precedence.ts):
 * consumer routes (a route in another namespace than the Service) apply only to clients from
 * their namespace, producer routes (the Service's namespace) to everyone else. Each group ends
 * with a 404 for its clients unless a rule of it takes every request, so consumer clients
 * never fall through to producer rules, and a client a producer route applies to never reaches
 * the Service's own default backends.
 *
 * With the Service's annotations: routes choose backends. When a producer route is attached to
 * a port, the annotation traffic split (weights or expression) on that port is not used and a
 * `route-annotation-conflict` warning says so; every other annotation (timeouts, retries, rate
 * limits, breakers, mirroring, sticky cookie) keeps governing the route and each rule that does
 * not set its own. With consumer routes only, the split stays for everyone else.
 */
import { Checker } from '../../../table/checker.ts';
import { checkRule } from '../../../table/rule-check.ts';
import type { RuleContext } from '../../../table/rule-check.ts';
import { MAX_MS } from '../../../table/checker.ts';
import type { ClusterBackend, RouteEntry, RouteRule, RuleBackend, ServiceId } from '../../../table/index.ts';
import { serviceId } from '../../../table/index.ts';
import type { ClusterState, GatewayRef, GatewayRouteObject, ReferenceGrantObject } from '../../objects.ts';
import { cmp, diagnostic, serviceObject } from '../diagnostics.ts';
import type { Diagnostic, DiagnosticCode, Severity } from '../diagnostics.ts';
import type { MeshedPort, MeshedService, ServiceLookup } from '../model.ts';
import { GATEWAY_GROUP, parseRoute } from './parse.ts';
import type { BackendRefSpec, ParsedRoute, ParsedRule, RankedMatch, RouteKind } from './parse.ts';
import { compareEntries } from './precedence.ts';
import type { Entry } from './precedence.ts';

export { parseGatewayDuration } from './parse.ts';

/** The controllerName hostmesh writes route status under. */
export const CONTROLLER_NAME = 'hostmesh.io/mesh-controller';

export interface RouteConditionSpec {
  type: 'Accepted' | 'ResolvedRefs' | 'PartiallyInvalid';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** What one route's `status.parents[]` should hold for the parents hostmesh owns. */
export interface RouteStatusReport {
  kind: RouteKind;
  namespace: string;
  name: string;
  generation: number | undefined;
  parents: { parentRef: GatewayRef; conditions: RouteConditionSpec[] }[];
}

export interface GatewayTranslation {
  /** Whether some route names a port of this Service as its parent. */
  has(id: ServiceId): boolean;
  /** Puts the rules of the routes attached to this port into `route` (an HTTP route, a copy). */
  route(svc: MeshedService, port: MeshedPort, route: RouteEntry, diagnostics: Diagnostic[]): void;
  /** After every port: each route's status and the route diagnostics. */
  finish(diagnostics: Diagnostic[]): RouteStatusReport[];
}

interface Attachment {
  route: ParsedRoute;
  parentIndex: number;
  /** A port number, a port name (sectionName), or every port. */
  port: number | undefined;
  section: string | undefined;
}

/** Parsed routes by object: an unchanged route is not checked again. */
const parsedCache = new WeakMap<GatewayRouteObject, ParsedRoute>();

function parsed(kind: RouteKind, obj: GatewayRouteObject): ParsedRoute | undefined {
  if (typeof obj?.metadata?.name !== 'string' || obj.metadata.name === '') return undefined;
  let p = parsedCache.get(obj);
  if (p === undefined || p.kind !== kind) {
    p = parseRoute(kind, obj);
    parsedCache.set(obj, p);
  }
  return p;
}

const isServiceRef = (ref: GatewayRef): boolean => ref.kind === 'Service' && (ref.group === '' || ref.group === 'core' || ref.group === undefined);

const label = (r: { kind: RouteKind; namespace: string; name: string }): string => `${r.kind} ${r.namespace}/${r.name}`;

const routeObject = (r: ParsedRoute) => ({ kind: r.kind, namespace: r.namespace, name: r.name });

type Resolved = { cluster: string } | { reason: 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound'; message: string };

export function gatewayTranslation(state: ClusterState, lookup: ServiceLookup, inScope: (namespace: string) => boolean): GatewayTranslation {
  const routes: ParsedRoute[] = [];
  for (const obj of state.grpcRoutes ?? []) {
    const r = parsed('GRPCRoute', obj);
    if (r) routes.push(r);
  }
  for (const obj of state.httpRoutes ?? []) {
    const r = parsed('HTTPRoute', obj);
    if (r) routes.push(r);
  }
  const attached = new Map<ServiceId, Attachment[]>();
  for (const route of routes) {
    route.parentRefs.forEach((ref, parentIndex) => {
      if (!isServiceRef(ref)) return;
      const ns = ref.namespace || route.namespace;
      if (!inScope(ns)) return;
      const id = serviceId(ns, ref.name);
      const list = attached.get(id) ?? [];
      list.push({ route, parentIndex, port: typeof ref.port === 'number' ? ref.port : undefined, section: typeof ref.sectionName === 'string' ? ref.sectionName : undefined });
      attached.set(id, list);
    });
  }
  const grants = state.referenceGrants ?? [];
  /** Diagnostics by key, so a route attached to several ports reports each problem once. */
  const found = new Map<string, Diagnostic>();
  const report = (severity: Severity, code: DiagnosticCode, route: ParsedRoute, message: string): void => {
    const key = `${code} ${label(route)} ${message}`;
    if (!found.has(key)) found.set(key, diagnostic(severity, code, routeObject(route), message));
  };
  /** Rules the table check refused, by route: they count as dropped in status. */
  const refused = new Map<ParsedRoute, Map<number, string>>();

  const selects = (a: Attachment, port: MeshedPort): boolean =>
    (a.port === undefined || a.port === port.port) && (a.section === undefined || a.section === port.name);

  const resolve = (route: ParsedRoute, ref: BackendRefSpec, parent: MeshedPort): Resolved => {
    const where = `${label(route)} ${ref.at}`;
    if (!((ref.group === '' || ref.group === 'core') && ref.kind === 'Service')) {
      return { reason: 'InvalidKind', message: `${where}: ${ref.group === '' ? '' : `${ref.group}/`}${ref.kind} is not a kind hostmesh routes to (Service is)` };
    }
    // GAMMA: a consumer route may send to the Service it is attached to without a grant.
    const ownParent = parent.id.slice(0, parent.id.lastIndexOf(':')) === `${ref.namespace}/${ref.name}`;
    if (ref.namespace !== route.namespace && !ownParent && !granted(grants, route, ref)) {
      return { reason: 'RefNotPermitted', message: `${where}: Service ${ref.namespace}/${ref.name} is in another namespace and no ReferenceGrant in ${ref.namespace} allows ${route.kind}s from ${route.namespace} to refer to it` };
    }
    const target = lookup(ref.namespace, ref.name);
    if (target === 'missing') return { reason: 'BackendNotFound', message: `${where}: Service ${ref.namespace}/${ref.name} does not exist` };
    if (target === 'not-meshed') return { reason: 'BackendNotFound', message: `${where}: Service ${ref.namespace}/${ref.name} is not in the mesh` };
    const number = ref.port ?? parent.port;
    const p = target.ports.find((x) => x.port === number);
    if (!p) return { reason: 'BackendNotFound', message: `${where}: Service ${ref.namespace}/${ref.name} has no port ${number}` };
    if (p.protocol !== parent.protocol) return { reason: 'BackendNotFound', message: `${where}: port ${number} of ${ref.namespace}/${ref.name} is ${p.protocol}, the parent port is ${parent.protocol}` };
    return { cluster: p.id };
  };

  const buildRule = (route: ParsedRoute, rule: ParsedRule, parent: MeshedPort, matches: RankedMatch[] | undefined, consumer: boolean): RouteRule => {
    const out: RouteRule = { origin: `${label(route)} rules[${rule.index}]`, backends: [] };
    if (rule.name !== undefined) out.name = rule.name;
    if (matches !== undefined) out.matches = matches.map((m) => m.match);
    if (consumer) out.clients = { namespaces: [route.namespace] };
    if (rule.filters.length > 0) out.filters = rule.filters.map((f) => ({ ...f }));
    const backends: RuleBackend[] = [];
    for (const ref of rule.backendRefs) {
      const r = resolve(route, ref, parent);
      if ('cluster' in r) {
        const b: ClusterBackend = { cluster: r.cluster, weight: ref.weight };
        if (ref.filters.length > 0) b.filters = ref.filters.map((f) => ({ ...f }));
        backends.push(b);
      } else {
        report('error', r.reason === 'RefNotPermitted' ? 'route-ref-not-permitted' : 'route-backend-unresolved', route, `${r.message}; its share (weight ${ref.weight}) of the rule's requests answers 500`);
        backends.push({ weight: ref.weight, respond: { status: 500, reason: `backend ${ref.namespace}/${ref.name}: ${r.reason}` } });
      }
    }
    const redirects = rule.filters.some((f) => f.type === 'redirect');
    // No backend with a weight (none listed, or all 0): the spec's 500, unless a redirect answers.
    if (!redirects && !backends.some((b) => b.weight > 0)) out.backends = [{ weight: 1, respond: { status: 500, reason: 'the route rule has no backend' } }];
    else out.backends = redirects ? [] : backends;
    if (rule.requestTimeoutMs !== undefined) out.requestTimeoutMs = Math.min(rule.requestTimeoutMs, MAX_MS);
    else if (rule.noRequestTimeout) out.requestTimeoutMs = MAX_MS;
    if (rule.backendTimeoutMs !== undefined) out.backendTimeoutMs = Math.min(rule.backendTimeoutMs, MAX_MS);
    if (rule.retry) {
      out.retry = { count: rule.retry.count, on: 'true', codes: rule.retry.codes.map((c) => [c, c]) };
      if (rule.retry.backoffMs !== undefined) out.retry.backoffMs = rule.retry.backoffMs;
    }
    if (rule.sessionCookie !== undefined) out.stickyCookie = rule.sessionCookie;
    const [mirror, ...more] = rule.mirrors;
    if (mirror) {
      const r = resolve(route, mirror.ref, parent);
      if ('cluster' in r) out.mirror = { cluster: r.cluster, percent: mirror.percent };
      else report('error', r.reason === 'RefNotPermitted' ? 'route-ref-not-permitted' : 'route-backend-unresolved', route, `${r.message}; nothing is mirrored`);
      if (more.length > 0) report('warning', 'route-unsupported', route, `${label(route)} rules[${rule.index}]: more than one RequestMirror; only the first is used`);
    }
    return out;
  };

  /** Whether the table would take the rule; a refused one is dropped (and reported). */
  const acceptable = (route: ParsedRoute, rule: ParsedRule, out: RouteRule): boolean => {
    const c = new Checker();
    const ctx: RuleContext = { protocol: 'http', cluster: () => {}, policyCheck: (path, of) => ({ c, path, route: of, cluster: () => {} }) };
    checkRule(c, out as unknown as Record<string, unknown>, `rules[${rule.index}]`, ctx);
    if (c.problems.length === 0) return true;
    const why = c.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    const seen = refused.get(route) ?? new Map<number, string>();
    seen.set(rule.index, why);
    refused.set(route, seen);
    return false;
  };

  return {
    has: (id) => attached.has(id),

    route(svc, port, entry, diagnostics) {
      const mine = (attached.get(svc.id) ?? []).filter((a) => a.route.invalid === undefined && selects(a, port));
      if (mine.length === 0 || port.protocol !== 'http') return;
      // Group by client namespace: consumers (alphabetical) first, producers last.
      const groups = new Map<string, Attachment[]>();
      for (const a of mine) {
        const key = a.route.namespace === svc.namespace ? '' : a.route.namespace;
        groups.set(key, [...(groups.get(key) ?? []), a]);
      }
      const rules: RouteRule[] = [];
      const keys = [...groups.keys()].toSorted((a, b) => (a === '' ? 1 : b === '' ? -1 : cmp(a, b)));
      for (const key of keys) {
        const consumer = key !== '';
        // A route attached twice to one port (two parentRefs) counts once.
        const routesHere = [...new Set(groups.get(key)!.map((a) => a.route))];
        const entries: Entry[] = [];
        for (const route of routesHere) {
          for (const rule of route.rules) {
            if (rule.matches.length === 0) entries.push({ route, rule, match: undefined, matchIndex: 0 });
            else rule.matches.forEach((match, matchIndex) => entries.push({ route, rule, match, matchIndex }));
          }
        }
        entries.sort(compareEntries);
        let catchAll = false;
        for (let i = 0; i < entries.length;) {
          const e = entries[i]!;
          let j = i + 1;
          while (j < entries.length && entries[j]!.route === e.route && entries[j]!.rule === e.rule) j++;
          const run = entries.slice(i, j);
          i = j;
          const takesAll = run.some((x) => x.match === undefined || Object.keys(x.match.match).length === 0);
          const out = buildRule(e.route, e.rule, port, takesAll ? undefined : run.map((x) => x.match!), consumer);
          if (!acceptable(e.route, e.rule, out)) continue;
          rules.push(out);
          if (takesAll) catchAll = true;
        }
        if (!catchAll) {
          rules.push({
            origin: consumer ? `Gateway API routes of clients in ${key}` : 'Gateway API routes',
            ...(consumer ? { clients: { namespaces: [key] } } : {}),
            backends: [{ weight: 1, respond: { status: 404, reason: 'no route rule matches the request' } }],
          });
        }
      }
      const producers = groups.has('');
      const where = `${svc.namespace}/${svc.name} port ${port.port}`;
      if (producers) {
        const own = entry.backends.length === 1 && entry.backends[0]!.cluster === port.id;
        if (entry.rules.length > 0 || !own) {
          diagnostics.push(diagnostic('warning', 'route-annotation-conflict', serviceObject(svc.namespace, svc.name),
            `${where}: a Gateway API route in ${svc.namespace} is attached, so it chooses the backends and the traffic split set by annotations (or an SMI TrafficSplit) on this port is not used; the other annotations still apply`));
        }
        entry.rules = rules;
        entry.backends = [{ cluster: port.id, weight: 1 }];
      } else {
        entry.rules = [...rules, ...entry.rules];
      }
    },

    finish(diagnostics) {
      const reports: RouteStatusReport[] = [];
      for (const route of routes) {
        if (route.invalid !== undefined) report('error', 'route-rule-invalid', route, `${label(route)}: ${route.invalid}; the route is not used`);
        for (const d of route.dropped) report('error', 'route-rule-invalid', route, `${label(route)} ${d.reason}; the rule is dropped, the route's other rules apply`);
        const tableRefused = refused.get(route);
        for (const [index, why] of tableRefused ?? []) report('error', 'route-rule-invalid', route, `${label(route)} rules[${index}]: the routing table would refuse it (${why}); the rule is dropped`);
        const parents: RouteStatusReport['parents'] = [];
        route.parentRefs.forEach((ref, parentIndex) => {
          if (!isServiceRef(ref)) return;
          const ns = ref.namespace || route.namespace;
          if (!inScope(ns)) return;
          const conditions = parentConditions(route, ref, ns, parentIndex, tableRefused);
          if (conditions) parents.push({ parentRef: ref, conditions });
        });
        if (parents.length > 0) reports.push({ kind: route.kind, namespace: route.namespace, name: route.name, generation: route.generation, parents });
      }
      for (const d of found.values()) diagnostics.push(d);
      return reports.toSorted((a, b) => cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
    },
  };

  /** Accepted, ResolvedRefs (and PartiallyInvalid) for one Service parent; undefined when not hostmesh's. */
  function parentConditions(route: ParsedRoute, ref: GatewayRef, ns: string, parentIndex: number, tableRefused: Map<number, string> | undefined): RouteConditionSpec[] | undefined {
    const svc = lookup(ns, ref.name);
    // A Service opted out of the mesh (or one hostmesh skips) is not hostmesh's to report on.
    if (svc === 'not-meshed') return undefined;
    const accepted = (status: 'True' | 'False', reason: string, message: string): RouteConditionSpec => ({ type: 'Accepted', status, reason, message });
    const refs = (status: 'True' | 'False', reason: string, message: string): RouteConditionSpec => ({ type: 'ResolvedRefs', status, reason, message });
    if (svc === 'missing') {
      report('warning', 'route-parent-invalid', route, `${label(route)} parentRefs[${parentIndex}]: Service ${ns}/${ref.name} does not exist`);
      return [accepted('False', 'NoMatchingParent', `Service ${ns}/${ref.name} does not exist`), refs('True', 'ResolvedRefs', 'no parent to resolve references for')];
    }
    const a: Attachment = { route, parentIndex, port: typeof ref.port === 'number' ? ref.port : undefined, section: typeof ref.sectionName === 'string' ? ref.sectionName : undefined };
    const ports = svc.ports.filter((p) => selects(a, p));
    if (ports.length === 0) {
      const what = a.port !== undefined ? `port ${a.port}` : `a port named ${JSON.stringify(a.section)}`;
      report('warning', 'route-parent-invalid', route, `${label(route)} parentRefs[${parentIndex}]: Service ${ns}/${ref.name} has no ${what}`);
      return [accepted('False', 'NoMatchingParent', `Service ${ns}/${ref.name} has no ${what}`), refs('True', 'ResolvedRefs', 'no parent port to resolve references for')];
    }
    const http = ports.filter((p) => p.protocol === 'http');
    if (http.length === 0) {
      const message = `Service ${ns}/${ref.name} port ${ports.map((p) => `${p.port} is ${p.protocol}`).join(', ')}; ${route.kind}s apply to http ports only`;
      report('warning', 'route-parent-invalid', route, `${label(route)} parentRefs[${parentIndex}]: ${message}`);
      return [accepted('False', 'UnsupportedValue', message), refs('True', 'ResolvedRefs', 'no http parent port to resolve references for')];
    }
    if (route.invalid !== undefined) {
      return [accepted('False', 'UnsupportedValue', route.invalid), refs('True', 'ResolvedRefs', 'the route is not used')];
    }
    const dropped = [...route.dropped.map((d) => d.reason), ...[...(tableRefused ?? [])].map(([i, why]) => `rules[${i}]: ${why}`)];
    const out: RouteConditionSpec[] = [];
    if (tableRefused !== undefined && tableRefused.size >= route.rules.length) {
      out.push(accepted('False', 'UnsupportedValue', `every rule is dropped: ${dropped.join('; ')}`));
    } else {
      out.push(accepted('True', 'Accepted', `attached to Service ${ns}/${ref.name} port ${http.map((p) => p.port).join(', ')}`));
    }
    let problem: Resolved | undefined;
    for (const rule of route.rules) {
      for (const b of [...rule.backendRefs, ...rule.mirrors.map((m) => m.ref)]) {
        for (const p of http) {
          const r = resolve(route, b, p);
          if (!('cluster' in r) && problem === undefined) problem = r;
        }
      }
    }
    out.push(problem && !('cluster' in problem) ? refs('False', problem.reason, problem.message) : refs('True', 'ResolvedRefs', 'every backend reference resolved'));
    if (dropped.length > 0 && out[0]!.status === 'True') out.push({ type: 'PartiallyInvalid', status: 'True', reason: 'UnsupportedValue', message: `Dropped Rule(s): ${dropped.join('; ')}` });
    return out;
  }
}

/** Whether a ReferenceGrant in the backend's namespace lets this route refer to the Service. */
function granted(grants: readonly ReferenceGrantObject[], route: ParsedRoute, ref: BackendRefSpec): boolean {
  return grants.some((g) => (g?.metadata?.namespace || 'default') === ref.namespace
    && (g.spec?.from ?? []).some((f) => f?.group === GATEWAY_GROUP && f.kind === route.kind && f.namespace === route.namespace)
    && (g.spec?.to ?? []).some((t) => (t?.group === '' || t?.group === 'core' || t?.group === undefined) && t?.kind === 'Service' && (t.name === undefined || t.name === '' || t.name === ref.name)));
}
