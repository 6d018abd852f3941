import { Args } from './args.js';
import { fail, show } from './errors.js';
import { PRIVATE_RANGES, parseRange } from './ip.js';
import { PROTOCOLS, cookieMatcher, headerMatches, headerPresent, headerRegexp, hostMatcher, methodMatcher, pathMatcher, pathRegexp, protocolMatcher, queryMatcher, remoteIpMatcher, } from './matchers.js';
import { cookieValueReader, headerValueReader, queryValueReader } from './placeholders.js';
import { compileRegexp } from './regexp.js';
const TOKEN = /^:?[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
function headerName(args, name) {
    if (!TOKEN.test(name.value))
        args.bad(0, `${show(name.value)} is not a valid header name`, name.pos);
    return name.value;
}
function request(f) {
    return f;
}
function breaker(f) {
    return f;
}
function regexpArg(args, i) {
    const pattern = args.string(i, 'a regular expression');
    const r = compileRegexp(pattern.value);
    if (!r.ok)
        fail('EXPR_BAD_PATTERN', `${args.fn}(): bad regular expression ${show(pattern.value)}: ${r.message}`, pattern.pos);
    return r.re;
}
/** Checks map keys: valid, not repeated (compared as `fold` says). */
function uniqueKeys(args, keys, what, valid, fold) {
    const seen = new Set();
    for (const { key, keyPos } of keys) {
        if (!valid(key))
            args.bad(0, `${show(key)} is not a valid ${what}`, keyPos);
        const folded = fold(key);
        if (seen.has(folded))
            args.bad(0, `${what} ${show(key)} appears twice; put its values in one list`, keyPos);
        seen.add(folded);
    }
}
const specs = [
    {
        name: 'header', scope: 'request', returns: 'boolean', min: 1, max: 1,
        usage: 'header(\'Name\') or header({\'Name\': \'glob\' or [\'glob\', ...], ...})',
        build(args) {
            const first = args.node(0);
            if (first.kind === 'literal' && typeof first.value === 'string')
                return request(headerPresent(headerName(args, args.string(0, 'a header name'))));
            if (first.kind !== 'object')
                args.wrongType(0, 'a header name or header globs', 'a quoted string or an object such as {\'User-Agent\': \'*Chrome*\'}');
            const entries = args.stringMap(0, 'header names and globs', 'a glob');
            if (entries.length === 0)
                args.bad(0, 'name at least one header, e.g. {\'User-Agent\': \'*Chrome*\'}');
            uniqueKeys(args, entries, 'header name', (k) => TOKEN.test(k), (k) => k.toLowerCase());
            return request(headerMatches(entries.map((e) => ({ name: e.key, patterns: e.values }))));
        },
    },
    {
        name: 'header_regexp', scope: 'request', returns: 'boolean', min: 2, max: 3,
        usage: 'header_regexp(\'Field\', \'regexp\') or header_regexp(\'name\', \'Field\', \'regexp\')',
        build(args) {
            const first = args.count === 3 ? 1 : 0;
            if (first === 1)
                args.string(0, 'a name for the regular expression');
            const field = headerName(args, args.string(first, 'a header name'));
            return request(headerRegexp(field, regexpArg(args, first + 1)));
        },
    },
    {
        name: 'path', scope: 'request', returns: 'boolean', min: 1, max: Infinity,
        usage: 'path(\'/exact\', \'/prefix/*\', \'*.suffix\', \'*/part/*\', \'/a/*/b\', ...)',
        build(args) {
            const patterns = args.strings(0, 'a path pattern');
            for (const p of patterns) {
                if (!p.value.startsWith('/') && !p.value.startsWith('*')) {
                    args.bad(0, `the path pattern ${show(p.value)} must start with / or *, e.g. '/api/*' or '*.js'`, p.pos);
                }
            }
            return request(pathMatcher(patterns.map((p) => p.value)));
        },
    },
    {
        name: 'path_regexp', scope: 'request', returns: 'boolean', min: 1, max: 2,
        usage: 'path_regexp(\'regexp\') or path_regexp(\'name\', \'regexp\')',
        build(args) {
            if (args.count === 2)
                args.string(0, 'a name for the regular expression');
            return request(pathRegexp(regexpArg(args, args.count - 1)));
        },
    },
    {
        name: 'method', scope: 'request', returns: 'boolean', min: 1, max: Infinity,
        usage: 'method(\'GET\', \'HEAD\', ...)',
        build(args) {
            const methods = args.strings(0, 'an HTTP method');
            for (const m of methods)
                if (!/^[A-Za-z]+$/.test(m.value))
                    args.bad(0, `${show(m.value)} is not an HTTP method`, m.pos);
            return request(methodMatcher(methods.map((m) => m.value)));
        },
    },
    {
        name: 'query', scope: 'request', returns: 'boolean', min: 1, max: 1,
        usage: 'query({\'name\': \'glob\' or [\'glob\', ...], ...}) or query({}) for "no query"',
        build(args) {
            const entries = args.stringMap(0, 'query parameter names and globs', 'a glob');
            uniqueKeys(args, entries, 'query parameter', (k) => k !== '', (k) => k);
            for (const e of entries) {
                if (e.values.length === 0)
                    args.bad(0, `give at least one value for ${show(e.key)}; '*' matches any value`, e.pos);
            }
            return request(queryMatcher(entries.map((e) => ({ name: e.key, patterns: e.values }))));
        },
    },
    {
        name: 'host', scope: 'request', returns: 'boolean', min: 1, max: Infinity,
        usage: 'host(\'api.example.com\', \'*.example.com\', ...)',
        build(args) {
            const hosts = args.strings(0, 'a host name');
            for (const h of hosts)
                if (h.value === '' || /[\s/]/.test(h.value))
                    args.bad(0, `${show(h.value)} is not a host name`, h.pos);
            return request(hostMatcher(hosts.map((h) => h.value)));
        },
    },
    {
        name: 'remote_ip', scope: 'request', returns: 'boolean', min: 1, max: Infinity,
        usage: 'remote_ip(\'10.0.0.0/8\', \'fd00::/8\', \'192.0.2.7\', \'private_ranges\', ...)',
        build: buildRemoteIp,
    },
    {
        name: 'client_ip', scope: 'request', returns: 'boolean', min: 1, max: Infinity,
        usage: 'client_ip(...): the same as remote_ip(...)',
        build: buildRemoteIp,
    },
    {
        name: 'cookie', scope: 'request', returns: 'boolean', min: 1, max: 2,
        usage: 'cookie(\'name\') or cookie(\'name\', \'glob\')',
        build(args) {
            const name = args.string(0, 'a cookie name');
            if (!TOKEN.test(name.value) || name.value.startsWith(':'))
                args.bad(0, `${show(name.value)} is not a valid cookie name`, name.pos);
            const pattern = args.count === 2 ? args.string(1, 'a glob for the value').value : undefined;
            return request(cookieMatcher(name.value, pattern));
        },
    },
    {
        name: 'protocol', scope: 'request', returns: 'boolean', min: 1, max: 1,
        usage: `protocol('${PROTOCOLS.join('\' | \'')}')`,
        build(args) {
            const p = args.string(0, 'a protocol name');
            const name = p.value.toLowerCase();
            if (!PROTOCOLS.includes(name))
                args.bad(0, `unknown protocol ${show(p.value)}; expected one of ${PROTOCOLS.join(', ')}`, p.pos);
            return request(protocolMatcher(name));
        },
    },
    {
        name: 'random', scope: 'request', returns: 'number', min: 0, max: 0,
        usage: 'random(): a number in [0, 1), e.g. random() < 0.1',
        build: () => request(() => Math.random()),
    },
    {
        name: 'header_value', scope: 'request', returns: 'string', min: 1, max: 1,
        usage: 'header_value(\'Name\'): the header\'s value, \'\' when absent',
        build: (args) => request(headerValueReader(headerName(args, args.string(0, 'a header name')))),
    },
    {
        name: 'query_value', scope: 'request', returns: 'string', min: 1, max: 1,
        usage: 'query_value(\'name\'): the first value of the query parameter, \'\' when absent',
        build: (args) => request(queryValueReader(args.string(0, 'a query parameter name').value)),
    },
    {
        name: 'cookie_value', scope: 'request', returns: 'string', min: 1, max: 1,
        usage: 'cookie_value(\'name\'): the cookie\'s value, \'\' when absent',
        build: (args) => request(cookieValueReader(args.string(0, 'a cookie name').value)),
    },
    {
        name: 'NetworkErrorRatio', scope: 'breaker', returns: 'number', min: 0, max: 0,
        usage: 'NetworkErrorRatio()',
        build: () => breaker((s) => s.networkErrorRatio()),
    },
    {
        name: 'ResponseCodeRatio', scope: 'breaker', returns: 'number', min: 4, max: 4,
        usage: 'ResponseCodeRatio(from, to, dividedByFrom, dividedByTo), e.g. ResponseCodeRatio(500, 600, 0, 600)',
        build(args) {
            const [from, to, byFrom, byTo] = [0, 1, 2, 3].map((i) => {
                const n = args.number(i, 'a status code');
                if (!Number.isInteger(n.value) || n.value < 0 || n.value > 1000)
                    args.bad(i, `the ${['from', 'to', 'dividedByFrom', 'dividedByTo'][i]} status ${n.value} must be a whole number from 0 to 1000`);
                return n.value;
            });
            if (from >= to)
                args.bad(1, `the range [${from}, ${to}) is empty: from is inclusive, to exclusive, so to must be greater than from`);
            if (byFrom >= byTo)
                args.bad(3, `the range [${byFrom}, ${byTo}) is empty: dividedByTo must be greater than dividedByFrom`);
            return breaker((s) => s.responseCodeRatio(from, to, byFrom, byTo));
        },
    },
    {
        name: 'LatencyAtQuantileMS', scope: 'breaker', returns: 'number', min: 1, max: 1,
        usage: 'LatencyAtQuantileMS(quantile), e.g. LatencyAtQuantileMS(50.0) for the median',
        build(args) {
            const q = args.number(0, 'a quantile in percent').value;
            if (!(q >= 0 && q <= 100))
                args.bad(0, `the quantile ${q} must be a percentage from 0 to 100, e.g. 50.0 or 99.9`);
            // Traefik compares whole milliseconds.
            return breaker((s) => Math.trunc(s.latencyAtQuantileMS(q)));
        },
    },
];
function buildRemoteIp(args) {
    const ranges = { v4: [], v6: [] };
    for (const r of args.strings(0, 'an IP address or CIDR range')) {
        for (const text of r.value === 'private_ranges' ? PRIVATE_RANGES : [r.value]) {
            const range = parseRange(text);
            if (typeof range === 'string')
                fail('EXPR_BAD_PATTERN', `${args.fn}(): ${show(r.value)}: ${range}`, r.pos);
            if ('mask' in range)
                ranges.v4.push(range);
            else
                ranges.v6.push(range);
        }
    }
    return request(remoteIpMatcher(ranges));
}
export const FUNCTIONS = new Map(specs.map((s) => [s.name, s]));
