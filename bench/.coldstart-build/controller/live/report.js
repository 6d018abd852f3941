/**
 * Checks a proxy's live report (src/table/live.ts): untrusted JSON in, a bounded ProxyReport
 * out, or a HostmeshError BAD_REPORT naming the field.
 */
import { HostmeshError } from '../../common/errors.js';
const MAX_ROUTES = 50_000;
const MAX_BACKENDS = 64;
const MAX_BUCKETS = 64;
const MAX_TAP = 2000;
function bad(field, why) {
    throw new HostmeshError('BAD_REPORT', `live report: ${field} ${why}`);
}
function obj(v, field) {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
        bad(field, 'is not an object');
    return v;
}
function str(v, field, max = 512) {
    if (typeof v !== 'string')
        bad(field, 'is not a string');
    if (v.length > max)
        bad(field, `is longer than ${max} characters`);
    return v;
}
function count(v, field) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        bad(field, `is not a count (${String(v).slice(0, 40)})`);
    return v;
}
function list(v, field, max) {
    if (!Array.isArray(v))
        bad(field, 'is not a list');
    if (v.length > max)
        bad(field, `has more than ${max} entries`);
    return v;
}
function backend(v, field, buckets) {
    const o = obj(v, field);
    const b = list(o.buckets, `${field}.buckets`, MAX_BUCKETS).map((n, i) => count(n, `${field}.buckets[${i}]`));
    if (b.length !== buckets)
        bad(`${field}.buckets`, `has ${b.length} entries for ${buckets} bounds`);
    const requests = count(o.requests, `${field}.requests`);
    return { backend: str(o.backend, `${field}.backend`), requests, failures: Math.min(requests, count(o.failures, `${field}.failures`)), buckets: b };
}
function tapEvent(v, field, node) {
    const o = obj(v, field);
    return {
        taps: list(o.taps, `${field}.taps`, 64).map((t, i) => str(t, `${field}.taps[${i}]`, 64)),
        node,
        route: str(o.route, `${field}.route`),
        time: str(o.time, `${field}.time`, 40),
        method: str(o.method, `${field}.method`, 32),
        path: str(o.path, `${field}.path`, 256),
        status: count(o.status, `${field}.status`),
        latencyMs: count(o.latencyMs, `${field}.latencyMs`),
        backend: str(o.backend, `${field}.backend`),
        endpoint: str(o.endpoint, `${field}.endpoint`, 80),
        client: str(o.client, `${field}.client`, 80),
    };
}
export function parseReport(v) {
    const o = obj(v, 'the body');
    const node = str(o.node, 'node', 253);
    if (node === '')
        bad('node', 'is empty');
    const bounds = list(o.bounds, 'bounds', MAX_BUCKETS - 1).map((n, i) => count(n, `bounds[${i}]`));
    for (let i = 1; i < bounds.length; i++)
        if (bounds[i] <= bounds[i - 1])
            bad('bounds', 'are not increasing');
    const stats = list(o.stats, 'stats', MAX_ROUTES).map((r, i) => {
        const ro = obj(r, `stats[${i}]`);
        return {
            route: str(ro.route, `stats[${i}].route`),
            backends: list(ro.backends, `stats[${i}].backends`, MAX_BACKENDS).map((b, j) => backend(b, `stats[${i}].backends[${j}]`, bounds.length + 1)),
        };
    });
    return {
        node,
        software: typeof o.software === 'string' ? o.software.slice(0, 64) : 'unknown',
        ready: o.ready === true,
        bounds,
        stats,
        tap: list(o.tap ?? [], 'tap', MAX_TAP).map((e, i) => tapEvent(e, `tap[${i}]`, node)),
        tapDropped: count(o.tapDropped ?? 0, 'tapDropped'),
    };
}
