/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as the mesh applies it: a valid
 * incoming `traceparent` travels on unchanged (the proxy is not a span of its own), anything
 * else is replaced by a new trace, so every request leaving the mesh carries one. With tracing on
 * (src/proxy/tracing/), a sampled request's proxy span becomes the backend's parent instead.
 */
import { randomFillSync } from 'node:crypto';
/**
 * Flags of the traces the proxy starts: sampled. The proxy records no spans itself, but the
 * access log does record the trace id, and a backend using parent-based sampling (the
 * OpenTelemetry default) would otherwise drop every request that reached it through the mesh
 * without a trace, which it used to record as a root.
 */
export const STARTED_TRACE_FLAGS = '01';
const DASH = 45;
function isLowerHex(s, from, to) {
    for (let i = from; i < to; i++) {
        const c = s.charCodeAt(i);
        if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102)))
            return false;
    }
    return true;
}
function allZero(s, from, to) {
    for (let i = from; i < to; i++)
        if (s.charCodeAt(i) !== 48)
            return false;
    return true;
}
/**
 * Whether a `traceparent` value may be passed on: `version-traceid-parentid-flags` in lower-case
 * hex, version not `ff`, ids not all zeros. Version `00` is exactly 55 characters; a later
 * version may append fields after a dash (the spec's forward-compatible parsing).
 */
export function isValidTraceparent(v) {
    if (v.length < 55)
        return false;
    if (!isLowerHex(v, 0, 2) || (v.charCodeAt(0) === 102 && v.charCodeAt(1) === 102))
        return false;
    if (v.charCodeAt(2) !== DASH || v.charCodeAt(35) !== DASH || v.charCodeAt(52) !== DASH)
        return false;
    if (!isLowerHex(v, 3, 35) || allZero(v, 3, 35))
        return false;
    if (!isLowerHex(v, 36, 52) || allZero(v, 36, 52))
        return false;
    if (!isLowerHex(v, 53, 55))
        return false;
    if (v.length === 55)
        return true;
    const version00 = v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48;
    return !version00 && v.charCodeAt(55) === DASH;
}
// Random bytes are drawn, and turned into hex, in blocks: one system call and one conversion
// per 256 new traces; each trace then slices its ids out of the hex text.
const ID_BYTES = 24;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let poolHex = '';
let next = pool.length;
/** A new trace: version 00, random 16-byte trace id and 8-byte parent id, flags `01`. */
export function newTraceparent() {
    for (;;) {
        if (next + ID_BYTES > pool.length) {
            randomFillSync(pool);
            poolHex = pool.toString('hex');
            next = 0;
        }
        const at = next * 2;
        next += ID_BYTES;
        // All-zero ids are invalid; at 2^-64 odds this loop runs once.
        if (allZero(poolHex, at, at + 32) || allZero(poolHex, at + 32, at + 48))
            continue;
        return `00-${poolHex.slice(at, at + 32)}-${poolHex.slice(at + 32, at + 48)}-${STARTED_TRACE_FLAGS}`;
    }
}
