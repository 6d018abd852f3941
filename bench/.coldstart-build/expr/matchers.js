import { compileGlob, compileSegmentGlob } from './glob.js';
import { compileRanges } from './ip.js';
import { cleanPath, hasNoQuery, headerReader, hostName, pathStart, percentDecode, scanPath, someCookieValue, someQueryValue, } from './request.js';
const anyValue = () => true;
function anyOf(tests) {
    if (tests.length === 1)
        return tests[0];
    return (s) => {
        for (const t of tests)
            if (t(s))
                return true;
        return false;
    };
}
function allOf(tests) {
    if (tests.length === 1)
        return tests[0];
    if (tests.length === 2) {
        const [a, b] = tests;
        return (req) => a(req) && b(req);
    }
    return (req) => {
        for (const t of tests)
            if (!t(req))
                return false;
        return true;
    };
}
function someRequestTest(tests) {
    if (tests.length === 1)
        return tests[0];
    return (req) => {
        for (const t of tests)
            if (t(req))
                return true;
        return false;
    };
}
/** `header(name)`: the field is present (any value, even empty). */
export function headerPresent(name) {
    const read = headerReader(name.toLowerCase());
    return (req) => read(req) !== undefined;
}
/** `header({name: pattern-or-list, ...})`: every field has a value matching one of its globs. */
export function headerMatches(conditions) {
    return allOf(conditions.map(({ name, patterns }) => {
        if (patterns.length === 0)
            return headerPresent(name);
        const read = headerReader(name.toLowerCase());
        const test = anyOf(patterns.map(compileGlob));
        return (req) => {
            const v = read(req);
            if (v === undefined)
                return false;
            return typeof v === 'string' ? test(v) : v.some(test);
        };
    }));
}
/** `header_regexp(field, re)`: one of the field's values matches. */
export function headerRegexp(name, re) {
    const read = headerReader(name.toLowerCase());
    return (req) => {
        const v = read(req);
        if (v === undefined)
            return false;
        if (typeof v === 'string')
            return re.test(v);
        for (const one of v)
            if (re.test(one))
                return true;
        return false;
    };
}
/** `method(...)`: compared upper-case. */
export function methodMatcher(methods) {
    const wanted = [...new Set(methods.map((m) => m.toUpperCase()))];
    if (wanted.length === 1) {
        const only = wanted[0];
        return (req) => req.method === only;
    }
    const set = new Set(wanted);
    return (req) => set.has(req.method);
}
/** `query({name: pattern-or-list})`; `query({})` matches a request without query parameters. */
export function queryMatcher(conditions) {
    if (conditions.length === 0)
        return (req) => hasNoQuery(req.url);
    return allOf(conditions.map(({ name, patterns }) => {
        const test = anyOf(patterns.map(compileGlob));
        return (req) => someQueryValue(req.url, name, test);
    }));
}
/** `cookie(name)` or `cookie(name, glob)`. */
export function cookieMatcher(name, pattern) {
    const test = pattern === undefined ? anyValue : compileGlob(pattern);
    return (req) => someCookieValue(req, name, test);
}
/** `host(...)`: case-insensitive, port ignored, `*` stays within one label. */
export function hostMatcher(patterns) {
    const lower = patterns.map((p) => hostName(p).toLowerCase());
    const exact = new Set(lower.filter((p) => !p.includes('*')));
    const globs = lower.filter((p) => p.includes('*')).map((p) => compileSegmentGlob(p, '.'));
    const glob = globs.length === 0 ? undefined : anyOf(globs);
    return (req) => {
        const h = hostName(req.host).toLowerCase();
        return exact.has(h) || (glob !== undefined && glob(h));
    };
}
/** `remote_ip(...)`. */
export function remoteIpMatcher(ranges) {
    const test = compileRanges(ranges);
    return (req) => test(req.remoteAddress);
}
export const PROTOCOLS = ['http', 'https', 'grpc', 'http/1.0', 'http/1.0+', 'http/1.1', 'http/1.1+', 'http/2', 'http/2+'];
/** `protocol(...)`; `name` is one of PROTOCOLS, lower-case. */
export function protocolMatcher(name) {
    switch (name) {
        case 'http': return (req) => !req.secure;
        case 'https': return (req) => req.secure;
        case 'grpc': return (req) => {
            const ct = req.headers['content-type'];
            return typeof ct === 'string' && ct.length >= 16 && ct.slice(0, 16).toLowerCase() === 'application/grpc';
        };
        case 'http/1.0': return (req) => req.httpVersion === '1.0';
        case 'http/1.1': return (req) => req.httpVersion === '1.1';
        case 'http/2': return (req) => req.httpVersion.startsWith('2');
        case 'http/1.0+': return (req) => req.httpVersion >= '1.0';
        case 'http/1.1+': return (req) => req.httpVersion >= '1.1';
        default: return (req) => req.httpVersion >= '2';
    }
}
/** url[at, at + t.length) equals the lower-case ASCII text `t`, ignoring ASCII case. */
function asciiEqualsAt(url, at, t) {
    for (let i = 0; i < t.length; i++) {
        let c = url.charCodeAt(at + i);
        if (c >= 65 && c <= 90)
            c += 32;
        if (c !== t.charCodeAt(i))
            return false;
    }
    return true;
}
function pathPattern(pattern) {
    const p = pattern.toLowerCase();
    const raw = p.includes('%');
    const mergeSlashes = !p.includes('//');
    const stars = p.split('*').length - 1;
    const inner = p.slice(1, -1);
    if (p === '*')
        return { fast: () => true, slow: () => true, raw, mergeSlashes };
    if (!raw && stars === 2 && p.startsWith('*') && p.endsWith('*')) {
        return {
            fast: (url, start, end) => {
                for (let i = start; i + inner.length <= end; i++)
                    if (asciiEqualsAt(url, i, inner))
                        return true;
                return false;
            },
            slow: (s) => s.includes(inner),
            raw, mergeSlashes,
        };
    }
    if (!raw && stars === 1 && p.startsWith('*')) {
        const tail = p.slice(1);
        return { fast: (url, start, end) => end - start >= tail.length && asciiEqualsAt(url, end - tail.length, tail), slow: (s) => s.endsWith(tail), raw, mergeSlashes };
    }
    if (!raw && stars === 1 && p.endsWith('*')) {
        const head = p.slice(0, -1);
        return { fast: (url, start, end) => end - start >= head.length && asciiEqualsAt(url, start, head), slow: (s) => s.startsWith(head), raw, mergeSlashes };
    }
    if (stars === 0) {
        return { fast: (url, start, end) => end - start === p.length && asciiEqualsAt(url, start, p), slow: (s) => s === p, raw, mergeSlashes };
    }
    // Caddy's globular form: every `*` stays within one path segment.
    const glob = compileSegmentGlob(p, '/');
    return { fast: (url, start, end) => glob(url.slice(start, end).toLowerCase()), slow: glob, raw, mergeSlashes };
}
function normalisedPath(url, start, end, p) {
    const rawPath = url.slice(start, end);
    return cleanPath(p.raw ? rawPath : percentDecode(rawPath), p.mergeSlashes).toLowerCase();
}
/**
 * `path(...)`: Caddy's path matching. Case-insensitive; the path is percent-decoded, dot
 * segments resolved and repeated slashes merged before comparison. A path that needs none of
 * that (the usual case) is compared in place, without building a string.
 */
export function pathMatcher(patterns) {
    const compiled = patterns.map(pathPattern);
    const tests = compiled.map((p) => (req) => {
        const url = req.url;
        const start = pathStart(url);
        const end = scanPath(url, start);
        if (end > start)
            return p.fast(url, start, end);
        return p.slow(normalisedPath(url, start, end < 0 ? -end - 1 : end, p));
    });
    return someRequestTest(tests);
}
/** `path_regexp(re)`: against the decoded, cleaned path (case kept). */
export function pathRegexp(re) {
    return (req) => {
        const url = req.url;
        const start = pathStart(url);
        const end = scanPath(url, start);
        const path = end > start ? url.slice(start, end) : cleanPath(percentDecode(url.slice(start, end < 0 ? -end - 1 : end)), true);
        return re.test(path);
    };
}
