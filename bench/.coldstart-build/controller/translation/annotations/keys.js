/**
 * The annotation keys hostmesh understands: for each canonical `hostmesh.io/<key>`, how its
 * value parses and which Caddy Mesh and Traefik Mesh keys are aliases of it (with their own
 * documented semantics where they differ, e.g. Traefik's `retry-attempts` counts the first try).
 */
import { CIRCUIT_BREAKER, DEFAULT_LB_COOKIE, MAINTENANCE_NO_REASON, MAX_RETRY_COUNT, MIRROR, RATE_LIMIT, REQUEST_TIMEOUT, RETRY, STICKY_COOKIE, } from '../../../table/index.js';
import { ANNOTATION_PREFIX, CADDY_PREFIX, TRAEFIK_PREFIX } from '../../constants.js';
import { parseBoolean, parseCodes, parseDurationMs, parseEnum, parseInteger, parsePercent, parseRate, parseServiceName, parseToken, parseWeights, } from './values.js';
/** Traefik Mesh's former prefix, still read by Traefik Mesh itself. */
export const MAESH_PREFIX = 'maesh.containo.us/';
/** Prefixes in precedence order: where two spellings of one setting disagree, the first wins. */
export const PREFIXES = [
    { prefix: ANNOTATION_PREFIX, source: 'hostmesh' },
    { prefix: CADDY_PREFIX, source: 'caddy' },
    { prefix: TRAEFIK_PREFIX, source: 'traefik' },
    { prefix: MAESH_PREFIX, source: 'traefik' },
];
/** hostmesh.io/ keys hostmesh writes itself (on shadow Services): never "unknown". */
export const INTERNAL_KEYS = ['shadow-of', 'proxy-ports'];
const DAY_MS = 24 * 3600 * 1000;
const duration = (minMs) => (raw) => parseDurationMs(raw, minMs, DAY_MS);
/** Expressions are checked by the injected checker; without one any non-empty source passes. */
function expression(context) {
    return (raw, ctx) => {
        if (raw === '')
            return { ok: false, reason: 'is empty; an expression is required' };
        const problem = ctx.checkExpression?.(raw, context);
        if (problem) {
            const what = context === 'breaker' ? 'circuit-breaker' : context === 'key' ? 'rate-limit key' : 'matcher';
            return { ok: false, reason: `is not a valid ${what} expression: at column ${problem.column}: ${problem.message} (${problem.code})` };
        }
        return { ok: true, value: raw };
    };
}
function loadBalancer(raw) {
    const v = raw.trim();
    if (v === 'least-request' || v === 'round-robin' || v === 'random')
        return { ok: true, value: { kind: v } };
    if (v === 'cookie')
        return { ok: true, value: { kind: 'cookie', cookie: DEFAULT_LB_COOKIE } };
    const m = /^(cookie|header):\s*(.*)$/.exec(v);
    if (m) {
        const kind = m[1] === 'cookie' ? 'cookie' : 'header';
        const name = parseToken(m[2] ?? '', kind);
        if (!name.ok)
            return { ok: false, reason: `names a ${kind} "${m[2]}", which ${name.reason}` };
        return { ok: true, value: kind === 'cookie' ? { kind, cookie: name.value } : { kind, header: name.value } };
    }
    return { ok: false, reason: 'is not a load balancer (use least-request, round-robin, random, cookie, cookie:<name> or header:<name>)' };
}
function maintenance(raw) {
    const v = raw.trim();
    if (v === '' || v.toLowerCase() === 'false')
        return { ok: true, value: undefined };
    if (v.toLowerCase() === 'true')
        return { ok: true, value: MAINTENANCE_NO_REASON };
    if (v.length > 1024)
        return { ok: false, reason: 'is too long a reason (at most 1024 characters)' };
    return { ok: true, value: v };
}
const serviceName = (raw) => parseServiceName(raw);
const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
export const KEYS = {
    'mesh': { parse: parseBoolean, aliases: [] },
    'traffic-type': {
        parse: (raw) => parseEnum(raw, ['http', 'tcp', 'udp']),
        aliases: [{ source: 'traefik', name: 'traffic-type' }],
    },
    'scheme': {
        parse: (raw) => parseEnum(raw, ['http', 'https', 'h2c']),
        aliases: [{ source: 'traefik', name: 'scheme' }],
        httpOnly: true,
    },
    'dial-timeout': { parse: duration(1), aliases: [{ source: 'caddy', name: 'timeout-dial-timeout' }] },
    'read-timeout': { parse: duration(0), aliases: [{ source: 'caddy', name: 'timeout-read-timeout' }] },
    'write-timeout': { parse: duration(0), aliases: [{ source: 'caddy', name: 'timeout-write-timeout' }] },
    'body-timeout': { parse: duration(0), aliases: [], httpOnly: true },
    'request-timeout': { parse: duration(0), aliases: [], httpOnly: REQUEST_TIMEOUT.httpOnly },
    'retry-count': {
        parse: (raw) => {
            const n = parseInteger(raw, 0, MAX_RETRY_COUNT);
            return n.ok ? { ok: true, value: { count: n.value, afterSent: true } } : n;
        },
        aliases: [
            { source: 'caddy', name: 'retry-count' },
            {
                // Traefik's attempts include the first try and only retry requests the backend never received.
                source: 'traefik',
                name: 'retry-attempts',
                parse: (raw) => {
                    const n = parseInteger(raw, 1, MAX_RETRY_COUNT + 1);
                    return n.ok ? { ok: true, value: { count: n.value - 1, afterSent: false } } : n;
                },
            },
        ],
        same: (a, b) => a.count === b.count,
        httpOnly: RETRY.httpOnly,
    },
    'retry-duration': { parse: duration(0), aliases: [{ source: 'caddy', name: 'retry-duration' }], httpOnly: RETRY.httpOnly },
    'retry-on': { parse: expression('matcher'), aliases: [{ source: 'caddy', name: 'retry-on' }], httpOnly: RETRY.httpOnly, expression: true },
    'retry-codes': { parse: parseCodes, aliases: [], same: sameJson, httpOnly: RETRY.httpOnly },
    'load-balancer': { parse: loadBalancer, aliases: [], same: sameJson },
    'max-fails': { parse: (raw) => parseInteger(raw, 0, 1_000_000), aliases: [] },
    'fail-duration': { parse: duration(0), aliases: [] },
    'rate-limit-rate': {
        parse: parseRate,
        aliases: [
            { source: 'caddy', name: 'rate-limit-rate' },
            {
                // Traefik's average is an integer number of requests per second.
                source: 'traefik',
                name: 'ratelimit-average',
                parse: (raw) => {
                    const n = parseInteger(raw, 1, 1_000_000_000);
                    return n.ok ? { ok: true, value: { ratePerSecond: n.value, perPeriod: n.value, unit: 's' } } : n;
                },
            },
        ],
        same: (a, b) => a.ratePerSecond === b.ratePerSecond,
        httpOnly: RATE_LIMIT.httpOnly,
    },
    'rate-limit-burst': {
        parse: (raw) => parseInteger(raw, 1, 1_000_000_000),
        aliases: [{ source: 'traefik', name: 'ratelimit-burst' }],
        httpOnly: RATE_LIMIT.httpOnly,
    },
    'rate-limit-key': { parse: expression('key'), aliases: [{ source: 'caddy', name: 'rate-limit-key' }], httpOnly: RATE_LIMIT.httpOnly, expression: true },
    'rate-limit-zone-size': {
        parse: (raw) => parseInteger(raw, 1, 10_000_000),
        aliases: [{ source: 'caddy', name: 'rate-limit-zone-size' }],
        httpOnly: RATE_LIMIT.httpOnly,
    },
    'traffic-split-expression': {
        parse: expression('matcher'),
        aliases: [{ source: 'caddy', name: 'traffic-split-expression' }],
        httpOnly: true,
        expression: true,
    },
    'traffic-split-new-service': { parse: serviceName, aliases: [{ source: 'caddy', name: 'traffic-split-new-service' }], httpOnly: true },
    'traffic-split-old-service': { parse: serviceName, aliases: [{ source: 'caddy', name: 'traffic-split-old-service' }], httpOnly: true },
    'traffic-split-weights': { parse: parseWeights, aliases: [], same: sameJson },
    'sticky-cookie': { parse: (raw) => parseToken(raw, 'cookie'), aliases: [], httpOnly: STICKY_COOKIE.httpOnly },
    'mirror-service': { parse: serviceName, aliases: [], httpOnly: MIRROR.httpOnly },
    'mirror-percent': { parse: parsePercent, aliases: [], httpOnly: MIRROR.httpOnly },
    'circuit-breaker-expression': {
        parse: expression('breaker'),
        aliases: [{ source: 'traefik', name: 'circuit-breaker-expression' }],
        httpOnly: CIRCUIT_BREAKER.httpOnly,
        expression: true,
    },
    'maintenance': { parse: maintenance, aliases: [] },
};
export const KEY_NAMES = Object.keys(KEYS);
/** Known key names under each alias source, for typo suggestions. */
export function aliasNames(source) {
    const out = [];
    for (const name of KEY_NAMES)
        for (const a of KEYS[name].aliases)
            if (a.source === source)
                out.push(a.name);
    return out;
}
/** The candidate closest to `word` by edit distance, if it is close enough to be a likely typo. */
export function nearest(word, candidates) {
    let best;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word, c);
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    const limit = Math.max(2, Math.floor(word.length / 3));
    if (bestDistance <= limit)
        return best;
    // A key cut short (`timeout-dial` for `timeout-dial-timeout`) is far by edit distance but obvious.
    if (word.length < 4)
        return undefined;
    return candidates.filter((c) => c.startsWith(word)).toSorted((a, b) => a.length - b.length)[0];
}
function editDistance(a, b) {
    if (Math.abs(a.length - b.length) > 16)
        return Infinity;
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
        }
        prev = cur;
    }
    return prev[b.length] ?? Infinity;
}
