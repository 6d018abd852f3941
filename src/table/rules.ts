/**
 * Route rules: the one rule model every configuration source maps onto (docs/rule-model.md).
 * Caddy Mesh's `traffic-split-expression` annotation, Gateway API HTTPRoute/GRPCRoute rules
 * attached to a Service (GAMMA) and SMI TrafficSplit/HTTPRouteGroup all become an ordered list
 * of these on the addressed Service port's RouteEntry. The proxy takes the first rule that
 * applies to the client and matches the request; a request no rule takes goes to the route's
 * own `backends`.
 *
 * A rule may carry any route policy (RoutePolicies); the rule's value replaces the route's for
 * requests the rule takes, so a Service's annotations keep governing what a route does not set.
 * gRPC matches are translated to path matches by the controller (`/service/method`).
 */
import type { RoutePolicies } from './policies/index.ts';
import type { PortId } from './types.ts';

export interface RouteRule extends Omit<RoutePolicies, 'access'> {
  /** Where the rule comes from, for warnings and status, e.g. `HTTPRoute test/canary rules[0]`. */
  origin?: string;
  /** The rule's own name (Gateway API `rules[].name`), unique within its origin. */
  name?: string;
  /**
   * Matcher expression source (annotations), e.g. `header({'User-Agent': '*Chrome*'})`.
   * A rule has `match`, or `matches`, or neither (it takes every request).
   */
  match?: string;
  /** Structured matches (Gateway API, SMI): the rule takes a request any one of them matches. */
  matches?: HttpMatch[];
  /** Which clients the rule applies to, by the client's namespace (consumer routes). Absent: all. */
  clients?: ClientScope;
  /** Where the requests the rule takes go, weighted (smooth weighted round robin). */
  backends: RuleBackend[];
  /** Applied in order to the requests the rule takes (before the backend-level filters). */
  filters?: HttpFilter[];
  /** Longest wait for one attempt's response head, in ms (Gateway API `timeouts.backendRequest`). */
  backendTimeoutMs?: number;
}

/** All conditions present must hold. */
export interface HttpMatch {
  path?: PathMatch;
  /** The request's method is one of these (`*` for any). Absent: any method. */
  methods?: string[];
  headers?: ValueMatch[];
  queryParams?: ValueMatch[];
}

export interface PathMatch {
  /**
   * `Exact`: the path (without query) equals `value`. `PathPrefix`: element-wise prefix, so
   * `/foo` matches `/foo` and `/foo/bar` but not `/foobar` (a trailing `/` in value is ignored).
   * `RegularExpression`: the whole path matches (anchored), JavaScript syntax, linear-time checked.
   */
  type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value: string;
}

export interface ValueMatch {
  type: 'Exact' | 'RegularExpression';
  /** Header names compare case-insensitively; query parameter names exactly. */
  name: string;
  value: string;
}

export interface ClientScope {
  /** Only clients whose namespace (from the identity map) is one of these. */
  namespaces?: string[];
  /** Every client except those in these namespaces (unknown clients included). */
  exceptNamespaces?: string[];
}

/** A weighted destination of a rule: a cluster, or a direct answer. */
export type RuleBackend = ClusterBackend | DirectBackend;

export interface ClusterBackend {
  cluster: PortId;
  /** Relative weight, integer >= 0. A weight of 0 gets no traffic. */
  weight: number;
  /** Applied after the rule's filters, only to requests sent to this backend. */
  filters?: HttpFilter[];
}

/**
 * Answers its share of requests itself: a Gateway API backendRef that does not resolve gets
 * 500 for its share; a route whose rules match nothing answers 404 for a client it applies to.
 */
export interface DirectBackend {
  weight: number;
  respond: { status: number; reason: string };
}

export type HttpFilter = HeaderFilter | RedirectFilter | RewriteFilter | CorsFilter;

export interface HeaderFilter {
  /** Request headers on the way to the backend, or response headers on the way back. */
  type: 'requestHeaders' | 'responseHeaders';
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export interface PathModifier {
  /** `ReplacePrefixMatch` replaces the part the rule's PathPrefix match matched. */
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  value: string;
}

export interface RedirectFilter {
  type: 'redirect';
  scheme?: 'http' | 'https';
  hostname?: string;
  port?: number;
  path?: PathModifier;
  statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface RewriteFilter {
  type: 'rewrite';
  hostname?: string;
  path?: PathModifier;
}

export interface CorsFilter {
  type: 'cors';
  /** Origins allowed (`*` and `https://*.example.com` wildcards as the Gateway API defines). */
  allowOrigins: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  allowCredentials?: boolean;
  maxAgeSeconds?: number;
}

/**
 * One pod address and who runs there: the client identity the proxy looks up from a
 * connection's source address (consumer routes, ACL mode). A resource of its own kind, keyed
 * by address.
 */
export interface IdentityEntry {
  address: string;
  namespace: string;
  serviceAccount: string;
  /** `namespace/name` of the pod, for diagnostics. */
  pod?: string;
}

export function isDirectBackend(b: RuleBackend): b is DirectBackend {
  return 'respond' in b;
}

/** The rule's cluster backends (direct answers left out). */
export function clusterBackends(rule: Pick<RouteRule, 'backends'>): ClusterBackend[] {
  return rule.backends.filter((b): b is ClusterBackend => !isDirectBackend(b));
}

/** One line saying what a rule matches, for summaries: its expression, or its structured matches. */
export function describeRuleMatch(rule: Pick<RouteRule, 'match' | 'matches' | 'clients'>): string {
  const parts: string[] = [];
  if (rule.match !== undefined) parts.push(rule.match);
  for (const m of rule.matches ?? []) {
    const terms: string[] = [];
    if (m.path !== undefined) terms.push(`path ${m.path.type} ${m.path.value}`);
    if (m.methods !== undefined) terms.push(`method ${m.methods.join('|')}`);
    for (const h of m.headers ?? []) terms.push(`header ${h.name} ${h.type} ${h.value}`);
    for (const q of m.queryParams ?? []) terms.push(`query ${q.name} ${q.type} ${q.value}`);
    parts.push(terms.length > 0 ? terms.join(' and ') : 'any request');
  }
  if (parts.length === 0) parts.push('any request');
  const text = parts.join(' or ');
  if (rule.clients?.namespaces !== undefined) return `${text} (clients in ${rule.clients.namespaces.join(', ')})`;
  if (rule.clients?.exceptNamespaces !== undefined) return `${text} (clients not in ${rule.clients.exceptNamespaces.join(', ')})`;
  return text;
}
