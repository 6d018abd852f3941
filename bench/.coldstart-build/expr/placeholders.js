import { fail } from './errors.js';
import { suggest } from './suggest.js';
import { decodedPath, firstCookieValue, firstQueryValue, headerReader, headerText, hostName, rawQuery, } from './request.js';
const PROTO = new Map([['1.0', 'HTTP/1.0'], ['1.1', 'HTTP/1.1'], ['2.0', 'HTTP/2.0']]);
const remoteIp = (req) => req.remoteAddress;
const remotePort = (req) => (req.remotePort === undefined ? '' : String(req.remotePort));
const remote = (req) => {
    if (req.remotePort === undefined)
        return req.remoteAddress;
    return req.remoteAddress.includes(':') ? `[${req.remoteAddress}]:${req.remotePort}` : `${req.remoteAddress}:${req.remotePort}`;
};
/** Whole-name placeholders; each line: hostmesh name, Caddy shorthand, Caddy full name. */
const FIXED = new Map();
function fixed(reader, ...names) {
    for (const n of names)
        FIXED.set(n, reader);
}
fixed(remoteIp, 'remote.ip', 'remote_host', 'client_ip', 'http.request.remote.host', 'http.request.client_ip');
fixed(remotePort, 'remote.port', 'remote_port', 'http.request.remote.port');
fixed(remote, 'remote', 'http.request.remote');
fixed((req) => req.method, 'method', 'http.request.method');
fixed((req) => hostName(req.host), 'host', 'http.request.host');
fixed((req) => req.host, 'hostport', 'http.request.hostport');
fixed((req) => decodedPath(req.url), 'path', 'http.request.uri.path');
fixed((req) => rawQuery(req.url), 'query', 'http.request.uri.query');
fixed((req) => req.url, 'uri', 'http.request.uri');
fixed((req) => (req.secure ? 'https' : 'http'), 'scheme', 'http.request.scheme');
fixed((req) => PROTO.get(req.httpVersion) ?? `HTTP/${req.httpVersion}`, 'proto', 'http.request.proto');
const PREFIXES = [
    ['header.', 'header'],
    ['http.request.header.', 'header'],
    ['query.', 'query'],
    ['http.request.uri.query.', 'query'],
    ['cookie.', 'cookie'],
    ['http.request.cookie.', 'cookie'],
];
/** Readers of one named header, query parameter or cookie; shared by placeholders and functions. */
export function headerValueReader(name) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower in Object.prototype) {
        const read = headerReader(lower);
        return (req) => headerText(read(req));
    }
    // The common case in one closure: this is the whole of a `{header.X}` rate-limit key.
    return (req) => {
        const v = req.headers[lower];
        return v === undefined ? '' : typeof v === 'string' ? v : v.join(', ');
    };
}
export function queryValueReader(name) {
    return (req) => firstQueryValue(req.url, name) ?? '';
}
export function cookieValueReader(name) {
    return (req) => firstCookieValue(req, name) ?? '';
}
/** The reader for a placeholder name (without braces), or undefined when unknown. */
export function placeholderReader(name) {
    const whole = FIXED.get(name);
    if (whole)
        return whole;
    for (const [prefix, kind] of PREFIXES) {
        if (name.length > prefix.length && name.startsWith(prefix)) {
            const rest = name.slice(prefix.length);
            if (kind === 'header')
                return headerValueReader(rest);
            if (kind === 'query')
                return queryValueReader(rest);
            return cookieValueReader(rest);
        }
    }
    return undefined;
}
/** Every accepted spelling, for suggestions and the documentation test. */
export const PLACEHOLDER_NAMES = [
    ...FIXED.keys(),
    ...PREFIXES.map(([prefix]) => `${prefix}<name>`),
];
/** The reader for a placeholder, or an EXPR_UNKNOWN_PLACEHOLDER failure at `pos`. */
export function resolvePlaceholder(name, pos) {
    const reader = placeholderReader(name);
    if (reader)
        return reader;
    const near = suggest(name, PLACEHOLDER_NAMES.filter((n) => !n.endsWith('<name>')));
    return fail('EXPR_UNKNOWN_PLACEHOLDER', `unknown placeholder {${name}}${near ? `; did you mean {${near}}?` : ''}`, pos);
}
