/**
 * Validation of the rule model (rules.ts, docs/rule-model.md): route rules with their matches,
 * client scopes, filters, direct backends and per-rule policies, and identity map entries.
 * Every problem names the JSON path and the offending value. Regular expressions are checked
 * to compile here; the proxy also refuses the ones that could backtrack exponentially (it
 * reports them as route warnings, as it does for expressions).
 */
import { isIP } from 'node:net';
import { describe, MAX_MS } from './checker.ts';
import type { Checker, Obj } from './checker.ts';
import { ROUTE_POLICIES } from './policies/index.ts';
import type { RouteCheck } from './policies/index.ts';
import { checkMatch, checkToken } from './matches.ts';

const FILTER_TYPES = ['requestHeaders', 'responseHeaders', 'redirect', 'rewrite', 'cors'] as const;
/** Filters a backend may carry: the ones that change what is sent or returned, never an answer of the proxy's own. */
const BACKEND_FILTER_TYPES = ['requestHeaders', 'responseHeaders', 'rewrite'] as const;
const REDIRECT_CODES = [301, 302, 303, 307, 308];
const MAX_WEIGHT = 1_000_000;
/** A header value the proxy writes: no CR, LF or NUL (they would split or end the head). */
const BAD_HEADER_VALUE = /[\r\n\0]/;
/** A hostname as a redirect or rewrite writes it (a DNS name or an IP, no port). */
const HOSTNAME = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9-.]*[A-Za-z0-9])?)$/;
/** `*`, or `scheme://host[:port]` where host may start with `*.`. */
const ORIGIN = /^(\*|[a-z][a-z0-9+.-]*:\/\/(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-.]*[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\])(:\d{1,5})?)$/;

/** How a rule refers to the rest of the table (clusters) and builds its policies' checks. */
export interface RuleContext {
  /** The route's protocol, for cluster references. */
  readonly protocol: unknown;
  /** Checks a reference to a cluster (exists, same protocol as the route). */
  cluster(id: unknown, path: string): void;
  /** A policy check at `path` (its `route` is the rule, so policies see the rule's fields). */
  policyCheck(path: string, rule: Obj): RouteCheck;
}

function checkStringList(c: Checker, v: unknown, p: string, each: (s: string, at: string) => void): void {
  c.array(v, p).forEach((s, i) => {
    if (c.string(s, `${p}[${i}]`, { nonEmpty: true })) each(s, `${p}[${i}]`);
  });
}

function checkHeaderPairs(c: Checker, v: unknown, p: string): void {
  c.array(v, p).forEach((e, i) => {
    const at = `${p}[${i}]`;
    const h = c.object(e, at);
    if (!h) return;
    if (c.string(h.name, `${at}.name`, { nonEmpty: true })) checkToken(c, h.name, `${at}.name`, 'a header name');
    if (c.string(h.value, `${at}.value`) && BAD_HEADER_VALUE.test(h.value)) c.fail(`${at}.value`, `must not hold CR, LF or NUL, got ${describe(h.value)}`);
  });
}

function checkHostname(c: Checker, v: unknown, p: string): void {
  if (c.string(v, p, { nonEmpty: true }) && !HOSTNAME.test(v)) c.fail(p, `must be a hostname without port, got ${describe(v)}`);
}

/** Facts about the rule's matches a path modifier depends on. */
interface MatchFacts {
  /** Every match has a PathPrefix path match (ReplacePrefixMatch needs one to replace). */
  allPrefix: boolean;
}

function checkPathModifier(c: Checker, v: unknown, p: string, facts: MatchFacts): void {
  const m = c.object(v, p);
  if (!m) return;
  if (c.oneOf(m.type, `${p}.type`, ['ReplaceFullPath', 'ReplacePrefixMatch'] as const) && m.type === 'ReplacePrefixMatch' && !facts.allPrefix) {
    c.fail(`${p}.type`, 'ReplacePrefixMatch needs every match of the rule to have a PathPrefix path match');
  }
  if (c.string(m.value, `${p}.value`) && (!m.value.startsWith('/') || /[?#\s]/.test(m.value))) {
    c.fail(`${p}.value`, `must be a path starting with / without query, fragment or spaces, got ${describe(m.value)}`);
  }
}

function checkFilter(c: Checker, v: unknown, p: string, allowed: readonly string[], facts: MatchFacts): string | undefined {
  const f = c.object(v, p);
  if (!f) return undefined;
  if (!c.oneOf(f.type, `${p}.type`, FILTER_TYPES)) return undefined;
  if (!allowed.includes(f.type)) {
    c.fail(`${p}.type`, `a backend's filters may be ${allowed.join(', ')}, got ${describe(f.type)}`);
    return undefined;
  }
  switch (f.type) {
    case 'requestHeaders':
    case 'responseHeaders':
      if (c.optional(f, 'set')) checkHeaderPairs(c, f.set, `${p}.set`);
      if (c.optional(f, 'add')) checkHeaderPairs(c, f.add, `${p}.add`);
      if (c.optional(f, 'remove')) checkStringList(c, f.remove, `${p}.remove`, (s, at) => checkToken(c, s, at, 'a header name'));
      if (f.set === undefined && f.add === undefined && f.remove === undefined) c.fail(p, 'needs set, add or remove');
      break;
    case 'redirect':
      if (c.optional(f, 'scheme')) c.oneOf(f.scheme, `${p}.scheme`, ['http', 'https'] as const);
      if (c.optional(f, 'hostname')) checkHostname(c, f.hostname, `${p}.hostname`);
      if (c.optional(f, 'port')) c.integer(f.port, `${p}.port`, 1, 65535);
      if (c.optional(f, 'path')) checkPathModifier(c, f.path, `${p}.path`, facts);
      if (typeof f.statusCode !== 'number' || !REDIRECT_CODES.includes(f.statusCode)) {
        c.fail(`${p}.statusCode`, `must be one of ${REDIRECT_CODES.join(', ')}, got ${describe(f.statusCode)}`);
      }
      break;
    case 'rewrite':
      if (c.optional(f, 'hostname')) checkHostname(c, f.hostname, `${p}.hostname`);
      if (c.optional(f, 'path')) checkPathModifier(c, f.path, `${p}.path`, facts);
      if (f.hostname === undefined && f.path === undefined) c.fail(p, 'needs hostname or path');
      break;
    case 'cors': {
      const origins = c.array(f.allowOrigins, `${p}.allowOrigins`);
      if (origins.length === 0) c.fail(`${p}.allowOrigins`, 'must list at least one origin');
      origins.forEach((o, i) => {
        if (c.string(o, `${p}.allowOrigins[${i}]`, { nonEmpty: true }) && !ORIGIN.test(o)) {
          c.fail(`${p}.allowOrigins[${i}]`, `must be * or scheme://host[:port] (host may start with *.), got ${describe(o)}`);
        }
      });
      const tokens = (key: string, what: string): void => {
        if (c.optional(f, key)) checkStringList(c, f[key], `${p}.${key}`, (s, at) => { if (s !== '*') checkToken(c, s, at, what); });
      };
      tokens('allowMethods', 'a method');
      tokens('allowHeaders', 'a header name');
      tokens('exposeHeaders', 'a header name');
      if (c.optional(f, 'allowCredentials') && typeof f.allowCredentials !== 'boolean') c.fail(`${p}.allowCredentials`, `must be a boolean, got ${describe(f.allowCredentials)}`);
      if (c.optional(f, 'maxAgeSeconds')) c.integer(f.maxAgeSeconds, `${p}.maxAgeSeconds`, 0, 86400 * 365);
      break;
    }
  }
  return f.type;
}

function checkFilters(c: Checker, v: unknown, p: string, allowed: readonly string[], facts: MatchFacts): string[] {
  const types: string[] = [];
  c.array(v, p).forEach((f, i) => {
    const t = checkFilter(c, f, `${p}[${i}]`, allowed, facts);
    if (t !== undefined) types.push(t);
  });
  if (types.filter((t) => t === 'redirect').length > 1) c.fail(p, 'holds more than one redirect');
  if (types.includes('redirect') && types.includes('rewrite')) c.fail(p, 'holds both a redirect and a rewrite (a redirected request is never forwarded)');
  return types;
}

function checkRuleBackends(c: Checker, v: unknown, p: string, ctx: RuleContext, facts: MatchFacts, mayBeEmpty: boolean): void {
  const list = c.array(v, p);
  if (list.length === 0 && !mayBeEmpty) c.fail(p, 'must name at least one backend (a cluster, or a respond answer)');
  list.forEach((b, k) => {
    const at = `${p}[${k}]`;
    const be = c.object(b, at);
    if (!be) return;
    c.integer(be.weight, `${at}.weight`, 0, MAX_WEIGHT);
    if (be.respond !== undefined) {
      if (be.cluster !== undefined) c.fail(at, 'has both cluster and respond');
      const r = c.object(be.respond, `${at}.respond`);
      if (r) {
        c.integer(r.status, `${at}.respond.status`, 200, 599);
        if (c.string(r.reason, `${at}.respond.reason`) && BAD_HEADER_VALUE.test(r.reason)) c.fail(`${at}.respond.reason`, `must not hold CR, LF or NUL, got ${describe(r.reason)}`);
      }
      if (be.filters !== undefined) c.fail(`${at}.filters`, 'a respond backend takes no filters');
      return;
    }
    ctx.cluster(be.cluster, `${at}.cluster`);
    if (c.optional(be, 'filters')) checkFilters(c, be.filters, `${at}.filters`, BACKEND_FILTER_TYPES, facts);
  });
}

function checkClients(c: Checker, v: unknown, p: string): void {
  const s = c.object(v, p);
  if (!s) return;
  if (s.namespaces === undefined && s.exceptNamespaces === undefined) c.fail(p, 'needs namespaces or exceptNamespaces (leave clients out for every client)');
  if (c.optional(s, 'namespaces')) checkStringList(c, s.namespaces, `${p}.namespaces`, () => {});
  if (c.optional(s, 'exceptNamespaces')) checkStringList(c, s.exceptNamespaces, `${p}.exceptNamespaces`, () => {});
}

/** One route rule at `p` (e.g. `$.routes[0].rules[2]`). */
export function checkRule(c: Checker, rule: Obj, p: string, ctx: RuleContext): void {
  if (c.optional(rule, 'origin')) c.string(rule.origin, `${p}.origin`);
  if (c.optional(rule, 'name')) c.string(rule.name, `${p}.name`, { nonEmpty: true });
  if (c.optional(rule, 'match')) c.string(rule.match, `${p}.match`, { nonEmpty: true });
  const facts: MatchFacts = { allPrefix: false };
  if (c.optional(rule, 'matches')) {
    if (rule.match !== undefined) c.fail(`${p}.matches`, 'a rule has match or matches, not both');
    const matches = c.array(rule.matches, `${p}.matches`);
    if (matches.length === 0) c.fail(`${p}.matches`, 'must hold at least one match (leave it out to take every request)');
    const checked = matches.map((m, i) => checkMatch(c, m, `${p}.matches[${i}]`));
    facts.allPrefix = checked.length > 0 && checked.every((m) => (m?.path as Obj | undefined)?.type === 'PathPrefix');
  }
  if (c.optional(rule, 'clients')) checkClients(c, rule.clients, `${p}.clients`);
  const types = c.optional(rule, 'filters') ? checkFilters(c, rule.filters, `${p}.filters`, FILTER_TYPES, facts) : [];
  // A redirect answers every request the rule takes, so its rule needs no backend.
  checkRuleBackends(c, rule.backends, `${p}.backends`, ctx, facts, types.includes('redirect'));
  if (c.optional(rule, 'backendTimeoutMs') && c.integer(rule.backendTimeoutMs, `${p}.backendTimeoutMs`, 1, MAX_MS)) {
    const whole = rule.requestTimeoutMs;
    if (typeof whole === 'number' && rule.backendTimeoutMs > whole) {
      c.fail(`${p}.backendTimeoutMs`, `must not exceed the rule's requestTimeoutMs ${whole}, got ${rule.backendTimeoutMs}`);
    }
  }
  for (const policy of ROUTE_POLICIES) {
    if (!c.optional(rule, policy.field)) continue;
    if (policy.field === 'access') c.fail(`${p}.access`, 'applies to the whole route, never to one rule');
    else policy.validate(rule[policy.field], ctx.policyCheck(`${p}.${policy.field}`, rule));
  }
}

/** The canonical form of an address for identity lookups: IPv4-mapped IPv6 as IPv4, IPv6 lower-case. */
export function identityKey(address: string): string {
  if (!address.includes(':')) return address;
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** One identity map entry at `p`. */
export function checkIdentity(c: Checker, e: Obj, p: string): void {
  if (c.string(e.address, `${p}.address`) && isIP(e.address) === 0) c.fail(`${p}.address`, `must be an IPv4 or IPv6 address, got ${describe(e.address)}`);
  c.string(e.namespace, `${p}.namespace`, { nonEmpty: true });
  c.string(e.serviceAccount, `${p}.serviceAccount`, { nonEmpty: true });
  if (c.optional(e, 'pod')) c.string(e.pod, `${p}.pod`);
}

/** `$.identities`: entries, each address once (compared in canonical form). */
export function checkIdentities(c: Checker, v: unknown, p: string): void {
  const seen = new Set<string>();
  c.array(v, p).forEach((ev, i) => {
    const e = c.object(ev, `${p}[${i}]`);
    if (!e) return;
    checkIdentity(c, e, `${p}[${i}]`);
    if (typeof e.address !== 'string') return;
    const key = identityKey(e.address);
    if (seen.has(key)) c.fail(`${p}[${i}].address`, `address ${e.address} is listed twice`);
    seen.add(key);
  });
}
