/**
 * One HTTPRoute or GRPCRoute object -> a checked, normalized route (docs/gateway-api.md). Pure:
 * everything comes from the object, nothing from the rest of the cluster (backend references
 * are resolved later, per Service, in attach.ts).
 *
 * A rule that cannot be served as written (an unknown filter, a regular expression that does
 * not compile, a duration that is not one, a value hostmesh does not support) is dropped, with
 * the reason, as the Gateway API's `PartiallyInvalid` condition describes; the route's other
 * rules stay. A route with no usable rule left is not accepted at all.
 */
import type { HttpFilter, HttpMatch, PathMatch, ValueMatch } from '../../../table/index.ts';
import type { GatewayRef, GatewayRouteObject } from '../../objects.ts';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** A backendRef as written, checked for shape (resolved in attach.ts). */
export interface BackendRefSpec {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  port: number | undefined;
  weight: number;
  filters: HttpFilter[];
  /** Where in the route, for messages: `rules[0].backendRefs[1]`. */
  at: string;
}

/** One match of a rule with what precedence compares. */
export interface RankedMatch {
  match: HttpMatch;
  /** HTTPRoute: 0 Exact, 1 RegularExpression, 2 PathPrefix; GRPCRoute: unused. */
  pathKind: number;
  /** HTTPRoute: characters of the path value; GRPCRoute: characters of the service. */
  primary: number;
  /** GRPCRoute: characters of the method. */
  secondary: number;
  hasMethod: boolean;
  headers: number;
  queryParams: number;
}

export interface ParsedRule {
  index: number;
  name?: string;
  /** Absent or empty: the rule takes every request (HTTPRoute's default PathPrefix /). */
  matches: RankedMatch[];
  filters: HttpFilter[];
  /** RequestMirror filters: where to, and how much (0-100). The first one is used. */
  mirrors: { ref: BackendRefSpec; percent: number }[];
  backendRefs: BackendRefSpec[];
  requestTimeoutMs?: number;
  /** `timeouts.request: 0s`: no deadline (the Service's own request timeout is lifted too). */
  noRequestTimeout?: boolean;
  backendTimeoutMs?: number;
  retry?: { count: number; codes: number[]; backoffMs?: number };
  sessionCookie?: string;
}

export interface ParsedRoute {
  kind: RouteKind;
  namespace: string;
  name: string;
  generation: number | undefined;
  /** RFC 3339, '' when unknown (sorts first, as the oldest). */
  created: string;
  parentRefs: GatewayRef[];
  rules: ParsedRule[];
  /** Rules dropped, with why (route status `PartiallyInvalid`, diagnostics). */
  dropped: { index: number; reason: string }[];
  /** Whole-route problems: nothing of the route is used. */
  invalid?: string;
}

type Obj = Record<string, unknown>;

class RuleProblem extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(at: string, why: string): never {
  throw new RuleProblem(`${at}: ${why}`);
}

function str(v: unknown, at: string, opts: { optional?: boolean; nonEmpty?: boolean } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    fail(at, 'is required');
  }
  if (typeof v !== 'string') fail(at, `must be a string, got ${JSON.stringify(v)}`);
  if (opts.nonEmpty && v === '') fail(at, 'must not be empty');
  return v;
}

function int(v: unknown, at: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(at, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function list(v: unknown, at: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(at, `must be a list, got ${JSON.stringify(v)}`);
  return v;
}

function regex(source: string, at: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch (e) {
    fail(at, `is not a regular expression that compiles: ${JSON.stringify(source)} (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`);
  }
}

/**
 * A Gateway API duration (GEP-2257): up to four `<number><unit>` terms, units h, m, s, ms,
 * e.g. `1h`, `1m30s`, `500ms`. Returns milliseconds.
 */
export function parseGatewayDuration(raw: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(raw)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const m of raw.matchAll(/([0-9]{1,5})(ms|h|m|s)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

function duration(v: unknown, at: string): number | undefined {
  const raw = str(v, at, { optional: true });
  if (raw === undefined) return undefined;
  const ms = parseGatewayDuration(raw);
  if (ms === undefined) fail(at, `is not a Gateway API duration (e.g. 500ms, 10s, 1m30s), got ${JSON.stringify(raw)}`);
  return ms;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function valueMatches(v: unknown, at: string, kind: 'header' | 'query'): ValueMatch[] {
  const seen = new Set<string>();
  const out: ValueMatch[] = [];
  list(v, at).forEach((x, i) => {
    const here = `${at}[${i}]`;
    if (!isObj(x)) fail(here, 'must be an object');
    const type = str(x.type, `${here}.type`, { optional: true }) ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') fail(`${here}.type`, `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
    const name = str(x.name, `${here}.name`, { nonEmpty: true })!;
    if (kind === 'header' && !HEADER_NAME.test(name)) fail(`${here}.name`, `is not a header name: ${JSON.stringify(name)}`);
    const value = str(x.value, `${here}.value`)!;
    if (type === 'RegularExpression') regex(value, `${here}.value`);
    // The spec: a repeated name (headers case-insensitively) keeps its first match.
    const key = kind === 'header' ? name.toLowerCase() : name;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ type, name, value });
  });
  return out;
}

function httpMatch(v: unknown, at: string): RankedMatch {
  if (!isObj(v)) fail(at, 'must be an object');
  const match: HttpMatch = {};
  let path: PathMatch = { type: 'PathPrefix', value: '/' };
  if (v.path !== undefined && v.path !== null) {
    if (!isObj(v.path)) fail(`${at}.path`, 'must be an object');
    const type = str(v.path.type, `${at}.path.type`, { optional: true }) ?? 'PathPrefix';
    if (type !== 'Exact' && type !== 'PathPrefix' && type !== 'RegularExpression') fail(`${at}.path.type`, `must be Exact, PathPrefix or RegularExpression, got ${JSON.stringify(type)}`);
    const value = str(v.path.value, `${at}.path.value`, { optional: true }) ?? '/';
    if (type === 'RegularExpression') regex(value, `${at}.path.value`);
    else if (!value.startsWith('/')) fail(`${at}.path.value`, `must start with /, got ${JSON.stringify(value)}`);
    path = { type, value };
  }
  // PathPrefix / takes every path: left out of the table's match.
  if (!(path.type === 'PathPrefix' && path.value === '/')) match.path = path;
  const method = str(v.method, `${at}.method`, { optional: true });
  if (method !== undefined) {
    if (!METHODS.includes(method)) fail(`${at}.method`, `must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`);
    match.methods = [method];
  }
  const headers = valueMatches(v.headers, `${at}.headers`, 'header');
  if (headers.length > 0) match.headers = headers;
  const queryParams = valueMatches(v.queryParams, `${at}.queryParams`, 'query');
  if (queryParams.length > 0) match.queryParams = queryParams;
  return {
    match,
    pathKind: path.type === 'Exact' ? 0 : path.type === 'RegularExpression' ? 1 : 2,
    primary: path.value.length,
    secondary: 0,
    hasMethod: method !== undefined,
    headers: headers.length,
    queryParams: queryParams.length,
  };
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A GRPCRoute match: service and method become a path match (`/service/method`). */
function grpcMatch(v: unknown, at: string): RankedMatch {
  if (!isObj(v)) fail(at, 'must be an object');
  const match: HttpMatch = {};
  let service: string | undefined;
  let method: string | undefined;
  if (v.method !== undefined && v.method !== null) {
    if (!isObj(v.method)) fail(`${at}.method`, 'must be an object');
    const type = str(v.method.type, `${at}.method.type`, { optional: true }) ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') fail(`${at}.method.type`, `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
    service = str(v.method.service, `${at}.method.service`, { optional: true, nonEmpty: true });
    method = str(v.method.method, `${at}.method.method`, { optional: true, nonEmpty: true });
    if (service === undefined && method === undefined) fail(`${at}.method`, 'needs service or method');
    if (type === 'Exact') {
      if (service !== undefined && !/^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/.test(service)) fail(`${at}.method.service`, `is not a gRPC service name: ${JSON.stringify(service)}`);
      if (method !== undefined && !/^[A-Za-z_][A-Za-z_0-9]*$/.test(method)) fail(`${at}.method.method`, `is not a gRPC method name: ${JSON.stringify(method)}`);
      if (service !== undefined && method !== undefined) match.path = { type: 'Exact', value: `/${service}/${method}` };
      else if (service !== undefined) match.path = { type: 'PathPrefix', value: `/${service}` };
      else match.path = { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(method!)}` };
    } else {
      if (service !== undefined) regex(service, `${at}.method.service`);
      if (method !== undefined) regex(method, `${at}.method.method`);
      match.path = { type: 'RegularExpression', value: `/(?:${service ?? '[^/]+'})/(?:${method ?? '[^/]+'})` };
    }
  }
  const headers = valueMatches(v.headers, `${at}.headers`, 'header');
  if (headers.length > 0) match.headers = headers;
  return { match, pathKind: 0, primary: service?.length ?? 0, secondary: method?.length ?? 0, hasMethod: false, headers: headers.length, queryParams: 0 };
}

function headerModifier(v: unknown, at: string, type: 'requestHeaders' | 'responseHeaders'): HttpFilter {
  if (!isObj(v)) fail(at, 'is required for this filter type');
  const pairs = (x: unknown, where: string): { name: string; value: string }[] => list(x, where).map((p, i) => {
    if (!isObj(p)) fail(`${where}[${i}]`, 'must be an object');
    const name = str(p.name, `${where}[${i}].name`, { nonEmpty: true })!;
    if (!HEADER_NAME.test(name)) fail(`${where}[${i}].name`, `is not a header name: ${JSON.stringify(name)}`);
    const value = str(p.value, `${where}[${i}].value`)!;
    if (/[\r\n\0]/.test(value)) fail(`${where}[${i}].value`, 'holds CR, LF or NUL');
    return { name, value };
  });
  const set = pairs(v.set, `${at}.set`);
  const add = pairs(v.add, `${at}.add`);
  const remove = list(v.remove, `${at}.remove`).map((n, i) => {
    const name = str(n, `${at}.remove[${i}]`, { nonEmpty: true })!;
    if (!HEADER_NAME.test(name)) fail(`${at}.remove[${i}]`, `is not a header name: ${JSON.stringify(name)}`);
    return name;
  });
  if (set.length + add.length + remove.length === 0) fail(at, 'sets, adds and removes nothing');
  return { type, ...(set.length > 0 ? { set } : {}), ...(add.length > 0 ? { add } : {}), ...(remove.length > 0 ? { remove } : {}) };
}

function pathModifier(v: unknown, at: string): { type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; value: string } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(at, 'must be an object');
  const type = str(v.type, `${at}.type`);
  if (type === 'ReplaceFullPath') return { type, value: str(v.replaceFullPath, `${at}.replaceFullPath`)! };
  if (type === 'ReplacePrefixMatch') return { type, value: str(v.replacePrefixMatch, `${at}.replacePrefixMatch`)! };
  return fail(`${at}.type`, `must be ReplaceFullPath or ReplacePrefixMatch, got ${JSON.stringify(type)}`);
}

function hostname(v: unknown, at: string): string | undefined {
  const h = str(v, at, { optional: true, nonEmpty: true });
  if (h !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-.]*[A-Za-z0-9])?$/.test(h)) fail(at, `is not a hostname: ${JSON.stringify(h)}`);
  return h;
}

const FILTER_FIELDS: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  CORS: 'cors',
};

interface FilterOut {
  filters: HttpFilter[];
  mirrors: { ref: BackendRefSpec; percent: number }[];
}

function filters(v: unknown, at: string, namespace: string, level: 'rule' | 'backend', kind: RouteKind): FilterOut {
  const out: FilterOut = { filters: [], mirrors: [] };
  list(v, at).forEach((f, i) => {
    const here = `${at}[${i}]`;
    if (!isObj(f)) fail(here, 'must be an object');
    const type = str(f.type, `${here}.type`)!;
    const field = FILTER_FIELDS[type];
    if (field === undefined) {
      fail(`${here}.type`, type === 'ExtensionRef'
        ? 'ExtensionRef filters are not supported by hostmesh'
        : `is not a filter type hostmesh supports (${Object.keys(FILTER_FIELDS).join(', ')}), got ${JSON.stringify(type)}`);
    }
    if (kind === 'GRPCRoute' && !['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'].includes(type)) {
      fail(`${here}.type`, `${type} is not a GRPCRoute filter`);
    }
    if (level === 'backend' && !['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite'].includes(type)) {
      fail(`${here}.type`, `${type} on a backendRef is not supported by hostmesh (use it on the rule)`);
    }
    const body = f[field];
    const where = `${here}.${field}`;
    switch (type) {
      case 'RequestHeaderModifier': out.filters.push(headerModifier(body, where, 'requestHeaders')); break;
      case 'ResponseHeaderModifier': out.filters.push(headerModifier(body, where, 'responseHeaders')); break;
      case 'RequestRedirect': {
        if (!isObj(body)) fail(where, 'is required for this filter type');
        const scheme = str(body.scheme, `${where}.scheme`, { optional: true });
        if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') fail(`${where}.scheme`, `must be http or https, got ${JSON.stringify(scheme)}`);
        const statusCode = int(body.statusCode, `${where}.statusCode`, 100, 599) ?? 302;
        if (![301, 302, 303, 307, 308].includes(statusCode)) fail(`${where}.statusCode`, `must be 301, 302, 303, 307 or 308, got ${statusCode}`);
        const host = hostname(body.hostname, `${where}.hostname`);
        const port = int(body.port, `${where}.port`, 1, 65535);
        const path = pathModifier(body.path, `${where}.path`);
        out.filters.push({
          type: 'redirect', statusCode: statusCode as 301 | 302 | 303 | 307 | 308,
          ...(scheme === undefined ? {} : { scheme }), ...(host === undefined ? {} : { hostname: host }),
          ...(port === undefined ? {} : { port }), ...(path === undefined ? {} : { path }),
        });
        break;
      }
      case 'URLRewrite': {
        if (!isObj(body)) fail(where, 'is required for this filter type');
        const host = hostname(body.hostname, `${where}.hostname`);
        const path = pathModifier(body.path, `${where}.path`);
        if (host === undefined && path === undefined) fail(where, 'rewrites neither hostname nor path');
        out.filters.push({ type: 'rewrite', ...(host === undefined ? {} : { hostname: host }), ...(path === undefined ? {} : { path }) });
        break;
      }
      case 'RequestMirror': {
        if (!isObj(body)) fail(where, 'is required for this filter type');
        let percent = 100;
        const pct = int(body.percent, `${where}.percent`, 0, 100);
        if (pct !== undefined) percent = pct;
        if (isObj(body.fraction)) {
          if (pct !== undefined) fail(where, 'has both percent and fraction');
          const num = int(body.fraction.numerator, `${where}.fraction.numerator`, 0, 1_000_000) ?? 0;
          const den = int(body.fraction.denominator, `${where}.fraction.denominator`, 1, 1_000_000) ?? 100;
          if (num > den) fail(`${where}.fraction`, `numerator ${num} is above denominator ${den}`);
          percent = (num / den) * 100;
        }
        out.mirrors.push({ ref: backendRef(body.backendRef, `${where}.backendRef`, namespace, kind, false), percent });
        break;
      }
      case 'CORS': {
        if (!isObj(body)) fail(where, 'is required for this filter type');
        const strings = (x: unknown, w: string): string[] => list(x, w).map((s, k) => str(s, `${w}[${k}]`, { nonEmpty: true })!);
        const allowOrigins = strings(body.allowOrigins, `${where}.allowOrigins`);
        if (allowOrigins.length === 0) fail(`${where}.allowOrigins`, 'lists no origin');
        const allowMethods = strings(body.allowMethods, `${where}.allowMethods`);
        const allowHeaders = strings(body.allowHeaders, `${where}.allowHeaders`);
        const exposeHeaders = strings(body.exposeHeaders, `${where}.exposeHeaders`);
        const creds = body.allowCredentials;
        if (creds !== undefined && creds !== null && typeof creds !== 'boolean') fail(`${where}.allowCredentials`, 'must be true or false');
        const maxAge = int(body.maxAge, `${where}.maxAge`, 1, 86400 * 365);
        out.filters.push({
          type: 'cors', allowOrigins,
          ...(allowMethods.length > 0 ? { allowMethods } : {}), ...(allowHeaders.length > 0 ? { allowHeaders } : {}),
          ...(exposeHeaders.length > 0 ? { exposeHeaders } : {}), ...(typeof creds === 'boolean' ? { allowCredentials: creds } : {}),
          ...(maxAge === undefined ? {} : { maxAgeSeconds: maxAge }),
        });
        break;
      }
    }
  });
  const types = out.filters.map((f) => f.type);
  if (types.includes('redirect') && types.includes('rewrite')) fail(at, 'holds both RequestRedirect and URLRewrite (a redirected request is never forwarded)');
  if (types.filter((t) => t === 'redirect').length > 1) fail(at, 'holds more than one RequestRedirect');
  return out;
}

function backendRef(v: unknown, at: string, namespace: string, kind: RouteKind, withFilters: boolean): BackendRefSpec {
  if (!isObj(v)) fail(at, 'must be an object');
  const name = str(v.name, `${at}.name`, { nonEmpty: true })!;
  const group = str(v.group, `${at}.group`, { optional: true }) ?? '';
  const refKind = str(v.kind, `${at}.kind`, { optional: true }) ?? 'Service';
  const ns = str(v.namespace, `${at}.namespace`, { optional: true, nonEmpty: true }) ?? namespace;
  const port = int(v.port, `${at}.port`, 1, 65535);
  const weight = int(v.weight, `${at}.weight`, 0, 1_000_000) ?? 1;
  const f = withFilters ? filters(v.filters, `${at}.filters`, namespace, 'backend', kind).filters : [];
  return { group, kind: refKind, namespace: ns, name, port, weight, filters: f, at };
}

function parseRule(v: unknown, index: number, route: { kind: RouteKind; namespace: string }): ParsedRule {
  const at = `rules[${index}]`;
  if (!isObj(v)) fail(at, 'must be an object');
  const rule: ParsedRule = { index, matches: [], filters: [], mirrors: [], backendRefs: [] };
  const name = str(v.name, `${at}.name`, { optional: true, nonEmpty: true });
  if (name !== undefined) rule.name = name;
  rule.matches = list(v.matches, `${at}.matches`).map((m, i) => (route.kind === 'HTTPRoute' ? httpMatch : grpcMatch)(m, `${at}.matches[${i}]`));
  const f = filters(v.filters, `${at}.filters`, route.namespace, 'rule', route.kind);
  rule.filters = f.filters;
  rule.mirrors = f.mirrors;
  if (f.filters.some((x) => x.type === 'rewrite' && x.path?.type === 'ReplacePrefixMatch') || f.filters.some((x) => x.type === 'redirect' && x.path?.type === 'ReplacePrefixMatch')) {
    if (rule.matches.length === 0 || rule.matches.some((m) => m.pathKind !== 2)) fail(`${at}.filters`, 'ReplacePrefixMatch needs every match of the rule to have a PathPrefix path match');
  }
  rule.backendRefs = list(v.backendRefs, `${at}.backendRefs`).map((b, i) => backendRef(b, `${at}.backendRefs[${i}]`, route.namespace, route.kind, true));
  if (isObj(v.timeouts)) {
    if (route.kind === 'GRPCRoute') fail(`${at}.timeouts`, 'is not a GRPCRoute field');
    const request = duration(v.timeouts.request, `${at}.timeouts.request`);
    const backend = duration(v.timeouts.backendRequest, `${at}.timeouts.backendRequest`);
    if (request === 0) rule.noRequestTimeout = true;
    else if (request !== undefined) rule.requestTimeoutMs = request;
    if (backend !== undefined && backend > 0) rule.backendTimeoutMs = backend;
    if (request !== undefined && request > 0 && backend !== undefined && backend > request) {
      fail(`${at}.timeouts.backendRequest`, `${v.timeouts.backendRequest as string} is longer than timeouts.request ${v.timeouts.request as string}`);
    }
  }
  if (isObj(v.retry)) {
    const codes = list(v.retry.codes, `${at}.retry.codes`).map((c, i) => int(c, `${at}.retry.codes[${i}]`, 400, 599)!);
    const count = int(v.retry.attempts, `${at}.retry.attempts`, 0, 100) ?? 1;
    const backoff = duration(v.retry.backoff, `${at}.retry.backoff`);
    if (count > 0) rule.retry = { count, codes, ...(backoff === undefined || backoff === 0 ? {} : { backoffMs: backoff }) };
  }
  if (isObj(v.sessionPersistence)) {
    const sp = v.sessionPersistence;
    const type = str(sp.type, `${at}.sessionPersistence.type`, { optional: true }) ?? 'Cookie';
    if (type !== 'Cookie') fail(`${at}.sessionPersistence.type`, `${type} session persistence is not supported by hostmesh (Cookie is)`);
    const cookie = str(sp.sessionName, `${at}.sessionPersistence.sessionName`, { optional: true, nonEmpty: true }) ?? 'hostmesh-session';
    if (!HEADER_NAME.test(cookie)) fail(`${at}.sessionPersistence.sessionName`, `is not a cookie name: ${JSON.stringify(cookie)}`);
    rule.sessionCookie = cookie;
  }
  return rule;
}

/** Checks and normalizes one route object; never throws. */
export function parseRoute(kind: RouteKind, obj: GatewayRouteObject): ParsedRoute {
  const namespace = obj.metadata.namespace || 'default';
  const route: ParsedRoute = {
    kind,
    namespace,
    name: obj.metadata.name,
    generation: typeof obj.metadata.generation === 'number' ? obj.metadata.generation : undefined,
    created: typeof obj.metadata.creationTimestamp === 'string' ? obj.metadata.creationTimestamp : '',
    parentRefs: [],
    rules: [],
    dropped: [],
  };
  const spec = isObj(obj.spec) ? obj.spec : {};
  route.parentRefs = (Array.isArray(spec.parentRefs) ? spec.parentRefs : []).filter((p): p is typeof p & object => isObj(p) && typeof p.name === 'string');
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  // A route without rules still takes its parents' traffic: one rule with no backend (500s).
  (rules.length === 0 ? [{}] : rules).forEach((r: unknown, i) => {
    try {
      route.rules.push(parseRule(r, i, route));
    } catch (e) {
      if (!(e instanceof RuleProblem)) throw e;
      route.dropped.push({ index: i, reason: e.message });
    }
  });
  const names = new Set<string>();
  for (const r of route.rules) {
    if (r.name === undefined) continue;
    if (names.has(r.name)) {
      route.invalid = `rules[${r.index}].name: ${JSON.stringify(r.name)} names two rules`;
      break;
    }
    names.add(r.name);
  }
  if (route.rules.length === 0 && route.invalid === undefined) route.invalid = 'no rule can be used';
  return route;
}
