/**
 * Validation of the rule model (rules.ts, docs/rule-model.md): route rules with their matches,
 * client scopes, filters, direct backends and per-rule policies, and identity map entries.
 * Every problem names the JSON path and the offending value. Regular expressions are checked
 * to compile here; the proxy also refuses the ones that could backtrack exponentially (it
 * reports them as route warnings, as it does for expressions).
 */
import { isIP } from 'node:net';
import { describe, MAX_MS } from './checker.js';
import { ROUTE_POLICIES } from './policies/index.js';
import { isHttpToken } from './policies/tokens.js';
const PATH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'];
const VALUE_TYPES = ['Exact', 'RegularExpression'];
const FILTER_TYPES = ['requestHeaders', 'responseHeaders', 'redirect', 'rewrite', 'cors'];
/** Filters a backend may carry: the ones that change what is sent or returned, never an answer of the proxy's own. */
const BACKEND_FILTER_TYPES = ['requestHeaders', 'responseHeaders', 'rewrite'];
const REDIRECT_CODES = [301, 302, 303, 307, 308];
const MAX_WEIGHT = 1_000_000;
/** A header value the proxy writes: no CR, LF or NUL (they would split or end the head). */
const BAD_HEADER_VALUE = /[\r\n\0]/;
/** A hostname as a redirect or rewrite writes it (a DNS name or an IP, no port). */
const HOSTNAME = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9-.]*[A-Za-z0-9])?)$/;
/** `*`, or `scheme://host[:port]` where host may start with `*.`. */
const ORIGIN = /^(\*|[a-z][a-z0-9+.-]*:\/\/(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-.]*[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\])(:\d{1,5})?)$/;
/** A regular expression compiles in JavaScript; its problem otherwise. */
function regexProblem(source) {
    try {
        return new RegExp(source) instanceof RegExp ? undefined : 'does not compile';
    }
    catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        return text.slice(text.lastIndexOf(': ') + 2);
    }
}
function checkRegex(c, v, p) {
    const problem = regexProblem(v);
    if (problem !== undefined)
        c.fail(p, `must be a regular expression, got ${describe(v)}: ${problem}`);
}
function checkStringList(c, v, p, each) {
    c.array(v, p).forEach((s, i) => {
        if (c.string(s, `${p}[${i}]`, { nonEmpty: true }))
            each(s, `${p}[${i}]`);
    });
}
function checkToken(c, s, p, what) {
    if (!isHttpToken(s))
        c.fail(p, `must be ${what} (an HTTP token), got ${describe(s)}`);
}
function checkPathMatch(c, v, p) {
    const m = c.object(v, p);
    if (!m)
        return;
    if (!c.oneOf(m.type, `${p}.type`, PATH_TYPES) || !c.string(m.value, `${p}.value`, { nonEmpty: true }))
        return;
    if (m.type === 'RegularExpression')
        checkRegex(c, m.value, `${p}.value`);
    else if (!m.value.startsWith('/'))
        c.fail(`${p}.value`, `must start with /, got ${describe(m.value)}`);
    else if (/[?#]/.test(m.value))
        c.fail(`${p}.value`, `must be a path without query or fragment, got ${describe(m.value)}`);
}
function checkValueMatches(c, v, p, header) {
    const seen = new Set();
    c.array(v, p).forEach((e, i) => {
        const at = `${p}[${i}]`;
        const m = c.object(e, at);
        if (!m)
            return;
        if (c.string(m.name, `${at}.name`, { nonEmpty: true })) {
            if (header)
                checkToken(c, m.name, `${at}.name`, 'a header name');
            const key = header ? m.name.toLowerCase() : m.name;
            if (seen.has(key))
                c.fail(`${at}.name`, `matches ${describe(m.name)} twice in one match`);
            seen.add(key);
        }
        if (c.oneOf(m.type, `${at}.type`, VALUE_TYPES) && c.string(m.value, `${at}.value`) && m.type === 'RegularExpression')
            checkRegex(c, m.value, `${at}.value`);
    });
}
function checkMatch(c, v, p) {
    const m = c.object(v, p);
    if (!m)
        return undefined;
    if (c.optional(m, 'path'))
        checkPathMatch(c, m.path, `${p}.path`);
    if (c.optional(m, 'methods')) {
        const methods = c.array(m.methods, `${p}.methods`);
        if (methods.length === 0)
            c.fail(`${p}.methods`, 'must list at least one method (leave it out for any)');
        methods.forEach((s, i) => {
            if (c.string(s, `${p}.methods[${i}]`, { nonEmpty: true }) && s !== '*')
                checkToken(c, s, `${p}.methods[${i}]`, 'a method');
        });
    }
    if (c.optional(m, 'headers'))
        checkValueMatches(c, m.headers, `${p}.headers`, true);
    if (c.optional(m, 'queryParams'))
        checkValueMatches(c, m.queryParams, `${p}.queryParams`, false);
    return m;
}
function checkHeaderPairs(c, v, p) {
    c.array(v, p).forEach((e, i) => {
        const at = `${p}[${i}]`;
        const h = c.object(e, at);
        if (!h)
            return;
        if (c.string(h.name, `${at}.name`, { nonEmpty: true }))
            checkToken(c, h.name, `${at}.name`, 'a header name');
        if (c.string(h.value, `${at}.value`) && BAD_HEADER_VALUE.test(h.value))
            c.fail(`${at}.value`, `must not hold CR, LF or NUL, got ${describe(h.value)}`);
    });
}
function checkHostname(c, v, p) {
    if (c.string(v, p, { nonEmpty: true }) && !HOSTNAME.test(v))
        c.fail(p, `must be a hostname without port, got ${describe(v)}`);
}
function checkPathModifier(c, v, p, facts) {
    const m = c.object(v, p);
    if (!m)
        return;
    if (c.oneOf(m.type, `${p}.type`, ['ReplaceFullPath', 'ReplacePrefixMatch']) && m.type === 'ReplacePrefixMatch' && !facts.allPrefix) {
        c.fail(`${p}.type`, 'ReplacePrefixMatch needs every match of the rule to have a PathPrefix path match');
    }
    if (c.string(m.value, `${p}.value`) && (!m.value.startsWith('/') || /[?#\s]/.test(m.value))) {
        c.fail(`${p}.value`, `must be a path starting with / without query, fragment or spaces, got ${describe(m.value)}`);
    }
}
function checkFilter(c, v, p, allowed, facts) {
    const f = c.object(v, p);
    if (!f)
        return undefined;
    if (!c.oneOf(f.type, `${p}.type`, FILTER_TYPES))
        return undefined;
    if (!allowed.includes(f.type)) {
        c.fail(`${p}.type`, `a backend's filters may be ${allowed.join(', ')}, got ${describe(f.type)}`);
        return undefined;
    }
    switch (f.type) {
        case 'requestHeaders':
        case 'responseHeaders':
            if (c.optional(f, 'set'))
                checkHeaderPairs(c, f.set, `${p}.set`);
            if (c.optional(f, 'add'))
                checkHeaderPairs(c, f.add, `${p}.add`);
            if (c.optional(f, 'remove'))
                checkStringList(c, f.remove, `${p}.remove`, (s, at) => checkToken(c, s, at, 'a header name'));
            if (f.set === undefined && f.add === undefined && f.remove === undefined)
                c.fail(p, 'needs set, add or remove');
            break;
        case 'redirect':
            if (c.optional(f, 'scheme'))
                c.oneOf(f.scheme, `${p}.scheme`, ['http', 'https']);
            if (c.optional(f, 'hostname'))
                checkHostname(c, f.hostname, `${p}.hostname`);
            if (c.optional(f, 'port'))
                c.integer(f.port, `${p}.port`, 1, 65535);
            if (c.optional(f, 'path'))
                checkPathModifier(c, f.path, `${p}.path`, facts);
            if (typeof f.statusCode !== 'number' || !REDIRECT_CODES.includes(f.statusCode)) {
                c.fail(`${p}.statusCode`, `must be one of ${REDIRECT_CODES.join(', ')}, got ${describe(f.statusCode)}`);
            }
            break;
        case 'rewrite':
            if (c.optional(f, 'hostname'))
                checkHostname(c, f.hostname, `${p}.hostname`);
            if (c.optional(f, 'path'))
                checkPathModifier(c, f.path, `${p}.path`, facts);
            if (f.hostname === undefined && f.path === undefined)
                c.fail(p, 'needs hostname or path');
            break;
        case 'cors': {
            const origins = c.array(f.allowOrigins, `${p}.allowOrigins`);
            if (origins.length === 0)
                c.fail(`${p}.allowOrigins`, 'must list at least one origin');
            origins.forEach((o, i) => {
                if (c.string(o, `${p}.allowOrigins[${i}]`, { nonEmpty: true }) && !ORIGIN.test(o)) {
                    c.fail(`${p}.allowOrigins[${i}]`, `must be * or scheme://host[:port] (host may start with *.), got ${describe(o)}`);
                }
            });
            const tokens = (key, what) => {
                if (c.optional(f, key))
                    checkStringList(c, f[key], `${p}.${key}`, (s, at) => { if (s !== '*')
                        checkToken(c, s, at, what); });
            };
            tokens('allowMethods', 'a method');
            tokens('allowHeaders', 'a header name');
            tokens('exposeHeaders', 'a header name');
            if (c.optional(f, 'allowCredentials') && typeof f.allowCredentials !== 'boolean')
                c.fail(`${p}.allowCredentials`, `must be a boolean, got ${describe(f.allowCredentials)}`);
            if (c.optional(f, 'maxAgeSeconds'))
                c.integer(f.maxAgeSeconds, `${p}.maxAgeSeconds`, 0, 86400 * 365);
            break;
        }
    }
    return f.type;
}
function checkFilters(c, v, p, allowed, facts) {
    const types = [];
    c.array(v, p).forEach((f, i) => {
        const t = checkFilter(c, f, `${p}[${i}]`, allowed, facts);
        if (t !== undefined)
            types.push(t);
    });
    if (types.filter((t) => t === 'redirect').length > 1)
        c.fail(p, 'holds more than one redirect');
    if (types.includes('redirect') && types.includes('rewrite'))
        c.fail(p, 'holds both a redirect and a rewrite (a redirected request is never forwarded)');
    return types;
}
function checkRuleBackends(c, v, p, ctx, facts, mayBeEmpty) {
    const list = c.array(v, p);
    if (list.length === 0 && !mayBeEmpty)
        c.fail(p, 'must name at least one backend (a cluster, or a respond answer)');
    list.forEach((b, k) => {
        const at = `${p}[${k}]`;
        const be = c.object(b, at);
        if (!be)
            return;
        c.integer(be.weight, `${at}.weight`, 0, MAX_WEIGHT);
        if (be.respond !== undefined) {
            if (be.cluster !== undefined)
                c.fail(at, 'has both cluster and respond');
            const r = c.object(be.respond, `${at}.respond`);
            if (r) {
                c.integer(r.status, `${at}.respond.status`, 200, 599);
                if (c.string(r.reason, `${at}.respond.reason`) && BAD_HEADER_VALUE.test(r.reason))
                    c.fail(`${at}.respond.reason`, `must not hold CR, LF or NUL, got ${describe(r.reason)}`);
            }
            if (be.filters !== undefined)
                c.fail(`${at}.filters`, 'a respond backend takes no filters');
            return;
        }
        ctx.cluster(be.cluster, `${at}.cluster`);
        if (c.optional(be, 'filters'))
            checkFilters(c, be.filters, `${at}.filters`, BACKEND_FILTER_TYPES, facts);
    });
}
function checkClients(c, v, p) {
    const s = c.object(v, p);
    if (!s)
        return;
    if (s.namespaces === undefined && s.exceptNamespaces === undefined)
        c.fail(p, 'needs namespaces or exceptNamespaces (leave clients out for every client)');
    if (c.optional(s, 'namespaces'))
        checkStringList(c, s.namespaces, `${p}.namespaces`, () => { });
    if (c.optional(s, 'exceptNamespaces'))
        checkStringList(c, s.exceptNamespaces, `${p}.exceptNamespaces`, () => { });
}
/** One route rule at `p` (e.g. `$.routes[0].rules[2]`). */
export function checkRule(c, rule, p, ctx) {
    if (c.optional(rule, 'origin'))
        c.string(rule.origin, `${p}.origin`);
    if (c.optional(rule, 'name'))
        c.string(rule.name, `${p}.name`, { nonEmpty: true });
    if (c.optional(rule, 'match'))
        c.string(rule.match, `${p}.match`, { nonEmpty: true });
    const facts = { allPrefix: false };
    if (c.optional(rule, 'matches')) {
        if (rule.match !== undefined)
            c.fail(`${p}.matches`, 'a rule has match or matches, not both');
        const matches = c.array(rule.matches, `${p}.matches`);
        if (matches.length === 0)
            c.fail(`${p}.matches`, 'must hold at least one match (leave it out to take every request)');
        const checked = matches.map((m, i) => checkMatch(c, m, `${p}.matches[${i}]`));
        facts.allPrefix = checked.length > 0 && checked.every((m) => m?.path?.type === 'PathPrefix');
    }
    if (c.optional(rule, 'clients'))
        checkClients(c, rule.clients, `${p}.clients`);
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
        if (c.optional(rule, policy.field))
            policy.validate(rule[policy.field], ctx.policyCheck(`${p}.${policy.field}`, rule));
    }
}
/** The canonical form of an address for identity lookups: IPv4-mapped IPv6 as IPv4, IPv6 lower-case. */
export function identityKey(address) {
    if (!address.includes(':'))
        return address;
    const lower = address.toLowerCase();
    return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}
/** One identity map entry at `p`. */
export function checkIdentity(c, e, p) {
    if (c.string(e.address, `${p}.address`) && isIP(e.address) === 0)
        c.fail(`${p}.address`, `must be an IPv4 or IPv6 address, got ${describe(e.address)}`);
    c.string(e.namespace, `${p}.namespace`, { nonEmpty: true });
    c.string(e.serviceAccount, `${p}.serviceAccount`, { nonEmpty: true });
    if (c.optional(e, 'pod'))
        c.string(e.pod, `${p}.pod`);
}
/** `$.identities`: entries, each address once (compared in canonical form). */
export function checkIdentities(c, v, p) {
    const seen = new Set();
    c.array(v, p).forEach((ev, i) => {
        const e = c.object(ev, `${p}[${i}]`);
        if (!e)
            return;
        checkIdentity(c, e, `${p}[${i}]`);
        if (typeof e.address !== 'string')
            return;
        const key = identityKey(e.address);
        if (seen.has(key))
            c.fail(`${p}[${i}].address`, `address ${e.address} is listed twice`);
        seen.add(key);
    });
}
