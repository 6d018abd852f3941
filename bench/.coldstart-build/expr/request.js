/** A reader of one header by its lower-case name; `host` falls back to `req.host` (HTTP/2). */
export function headerReader(lowerName) {
    if (lowerName === 'host')
        return (req) => req.headers.host ?? (req.host === '' ? undefined : req.host);
    // `constructor`, `__proto__`... are valid header names: never read them from the prototype.
    if (lowerName in Object.prototype)
        return (req) => (Object.hasOwn(req.headers, lowerName) ? req.headers[lowerName] : undefined);
    return (req) => req.headers[lowerName];
}
/** A header as one string: repeated fields joined with `, `, a missing one empty. */
export function headerText(v) {
    if (v === undefined)
        return '';
    return typeof v === 'string' ? v : v.join(', ');
}
/** Index where the path starts: 0 for origin-form, after the authority for absolute-form. */
export function pathStart(url) {
    if (url.charCodeAt(0) === 47 /* / */)
        return 0;
    const scheme = url.indexOf('://');
    if (scheme <= 0)
        return 0;
    const slash = url.indexOf('/', scheme + 3);
    if (slash >= 0)
        return slash;
    const query = url.indexOf('?', scheme + 3);
    return query >= 0 ? query : url.length;
}
/** Index where the path ends: the first `?` or `#`, else the end. */
export function pathEnd(url, start) {
    for (let i = start; i < url.length; i++) {
        const c = url.charCodeAt(i);
        if (c === 63 /* ? */ || c === 35 /* # */)
            return i;
    }
    return url.length;
}
/**
 * One pass over the path from `start`: returns its end (the first `?` or `#`, else the url's
 * end) when the path is already its own normal form up to letter case (no escapes, repeated
 * slashes, dot segments or non-ASCII), else `-end - 1`.
 */
export function scanPath(url, start) {
    let plain = true;
    let prev = 0;
    for (let i = start; i < url.length; i++) {
        const c = url.charCodeAt(i);
        if (c === 63 /* ? */ || c === 35 /* # */)
            return plain ? i : -i - 1;
        if (c === 37 /* % */ || c > 127 || (prev === 47 && (c === 47 || c === 46)))
            plain = false;
        prev = c;
    }
    return plain ? url.length : -url.length - 1;
}
/** Replace every run of valid %XX escapes by the text it encodes; invalid escapes stay as is. */
export function percentDecode(s) {
    if (!s.includes('%'))
        return s;
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
        try {
            return decodeURIComponent(run);
        }
        catch {
            return run;
        }
    });
}
/**
 * Caddy's CleanPath: Go's path.Clean (`.` and `..` resolved), a trailing slash kept when the
 * path ends with one, repeated slashes merged only when asked (not when the pattern has `//`).
 */
export function cleanPath(path, mergeSlashes) {
    if (path === '')
        return '/';
    const segments = path.split('/');
    const out = [];
    const last = segments.length - 1;
    for (let i = path.startsWith('/') ? 1 : 0; i <= last; i++) {
        const s = segments[i];
        if (s === '.') {
            continue;
        }
        else if (s === '..') {
            out.pop();
        }
        else if (s === '' && mergeSlashes && i < last) {
            continue;
        }
        else {
            out.push(s);
        }
    }
    return '/' + out.join('/');
}
/** The request path, percent-decoded, not cleaned: what `{path}` shows. */
export function decodedPath(url) {
    const start = pathStart(url);
    const end = pathEnd(url, start);
    return percentDecode(url.slice(start, end)) || '/';
}
/** The query string without `?` (and without a fragment), or '' when there is none. */
export function rawQuery(url) {
    const q = url.indexOf('?');
    return q < 0 ? '' : url.slice(q + 1, queryEnd(url, q));
}
/** `+` is a space in a query component, then percent-decoding. */
export function decodeQueryComponent(s) {
    return percentDecode(s.includes('+') ? s.replaceAll('+', ' ') : s);
}
/** End of the query: the fragment's `#`, else the end of the url. */
function queryEnd(url, q) {
    const hash = url.indexOf('#', q);
    return hash < 0 ? url.length : hash;
}
/** Whether url[at, at+len) names `name` (raw, or once decoded). */
function queryNameIs(url, at, len, name) {
    if (len === name.length && url.startsWith(name, at))
        return true;
    const raw = url.slice(at, at + len);
    return (raw.includes('%') || raw.includes('+')) && decodeQueryComponent(raw) === name;
}
/**
 * Calls `visit` with each decoded value of query parameter `name`, in order, until it returns
 * true; returns whether one did. A parameter without `=` has the value ''.
 */
export function someQueryValue(url, name, visit) {
    const q = url.indexOf('?');
    if (q < 0)
        return false;
    const end = queryEnd(url, q);
    let at = q + 1;
    while (at <= end) {
        let amp = url.indexOf('&', at);
        if (amp < 0 || amp > end)
            amp = end;
        if (amp > at) {
            let eq = url.indexOf('=', at);
            if (eq < 0 || eq > amp)
                eq = amp;
            if (queryNameIs(url, at, eq - at, name)) {
                const value = eq < amp ? decodeQueryComponent(url.slice(eq + 1, amp)) : '';
                if (visit(value))
                    return true;
            }
        }
        at = amp + 1;
    }
    return false;
}
// One shared visitor keeps the "first value" readers free of per-call closures.
let captured;
const captureFirst = (value) => {
    captured = value;
    return true;
};
/** The first value of query parameter `name`, or undefined. */
export function firstQueryValue(url, name) {
    captured = undefined;
    someQueryValue(url, name, captureFirst);
    return captured;
}
/** True when the url has no query parameter at all (`/p`, `/p?`, `/p?&`). */
export function hasNoQuery(url) {
    const q = url.indexOf('?');
    if (q < 0)
        return true;
    const end = queryEnd(url, q);
    for (let i = q + 1; i < end; i++)
        if (url.charCodeAt(i) !== 38 /* & */)
            return false;
    return true;
}
/**
 * Calls `visit` with each value of cookie `name` (from every Cookie field) until it returns
 * true. Values keep their bytes; only surrounding double quotes are removed (RFC 6265).
 */
export function someCookieValue(req, name, visit) {
    const field = req.headers.cookie;
    if (field === undefined)
        return false;
    if (typeof field === 'string')
        return someCookieIn(field, name, visit);
    for (const f of field)
        if (someCookieIn(f, name, visit))
            return true;
    return false;
}
function someCookieIn(header, name, visit) {
    let at = 0;
    while (at < header.length) {
        let end = header.indexOf(';', at);
        if (end < 0)
            end = header.length;
        let s = at;
        while (s < end && (header.charCodeAt(s) === 32 || header.charCodeAt(s) === 9))
            s++;
        if (header.startsWith(name, s) && header.charCodeAt(s + name.length) === 61 /* = */ && s + name.length < end) {
            let v0 = s + name.length + 1;
            let v1 = end;
            while (v1 > v0 && (header.charCodeAt(v1 - 1) === 32 || header.charCodeAt(v1 - 1) === 9))
                v1--;
            if (v1 - v0 >= 2 && header.charCodeAt(v0) === 34 && header.charCodeAt(v1 - 1) === 34) {
                v0++;
                v1--;
            }
            if (visit(header.slice(v0, v1)))
                return true;
        }
        at = end + 1;
    }
    return false;
}
/** The first value of cookie `name`, or undefined. */
export function firstCookieValue(req, name) {
    captured = undefined;
    someCookieValue(req, name, captureFirst);
    return captured;
}
/** The host without port, IPv6 brackets or a trailing dot, as sent (case kept). */
export function hostName(host) {
    let h = host;
    if (h.startsWith('[')) {
        const close = h.indexOf(']');
        h = close > 0 ? h.slice(1, close) : h.slice(1);
    }
    else {
        const colon = h.lastIndexOf(':');
        // One colon is a port separator; more would be a bare IPv6 address.
        if (colon >= 0 && h.indexOf(':') === colon)
            h = h.slice(0, colon);
    }
    return h.endsWith('.') ? h.slice(0, -1) : h;
}
