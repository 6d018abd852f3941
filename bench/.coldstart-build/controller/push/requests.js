/**
 * Parsing of what proxies send to the controller API. Everything here is untrusted: each
 * function either returns a typed value or throws a HostmeshError whose message names the field
 * and the offending value. Pure, so it is property-tested.
 */
import { HostmeshError } from '../../common/errors.js';
import { parseSince } from '../../table/index.js';
/** Kubernetes node names are DNS subdomains; upper case is allowed for non-cluster hosts. */
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const MAX_EPOCH = 200;
const MAX_DIGEST = 128;
const MAX_TIME = 64;
/** Refusal texts longer than this are cut: they are for people, and status stays small. */
export const MAX_ACK_ERROR = 8192;
function bad(code, message) {
    throw new HostmeshError(code, message);
}
function show(v) {
    if (typeof v === 'string')
        return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'an array';
    return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
export function checkNodeName(where, v) {
    if (v === undefined || v === null || v === '')
        bad('BAD_NODE', `${where}: node is required (the proxy's node name)`);
    if (typeof v !== 'string' || !NODE_NAME.test(v)) {
        bad('BAD_NODE', `${where}: node must be a node name (letters, digits, '.', '-', '_', at most 253), got ${show(v)}`);
    }
    return v;
}
/** `?node=N&since=E:V` of a watch request; `search` is the raw query string (with or without `?`). */
export function parseWatchQuery(search) {
    const params = new URLSearchParams(search);
    if (params.getAll('node').length > 1)
        bad('BAD_NODE', 'watch: node is given more than once');
    const node = checkNodeName('watch', params.get('node'));
    const rawSince = params.get('since');
    if (rawSince === null || rawSince === '')
        return { node, since: undefined };
    const since = parseSince(rawSince);
    if (since === undefined || since.epoch.length > MAX_EPOCH) {
        bad('BAD_SINCE', `watch: since must be <epoch>:<version> as sent in a snapshot, got ${show(rawSince)}`);
    }
    return { node, since };
}
/** Validates a parsed JSON ack body. Unknown fields are ignored (newer proxies may send more). */
export function parseAck(body) {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
        bad('BAD_ACK', `ack: body must be a JSON object, got ${show(body)}`);
    const o = body;
    const node = checkNodeName('ack', o.node);
    const str = (key, max) => {
        const v = o[key];
        if (typeof v !== 'string' || v.length === 0 || v.length > max)
            bad('BAD_ACK', `ack: ${key} must be a non-empty string of at most ${max} characters, got ${show(v)}`);
        return v;
    };
    const epoch = str('epoch', MAX_EPOCH);
    if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version) || o.version < 0) {
        bad('BAD_ACK', `ack: version must be an integer >= 0, got ${show(o.version)}`);
    }
    const digest = str('digest', MAX_DIGEST);
    if (typeof o.applied !== 'boolean')
        bad('BAD_ACK', `ack: applied must be true or false, got ${show(o.applied)}`);
    const time = str('time', MAX_TIME);
    if (Number.isNaN(Date.parse(time)))
        bad('BAD_ACK', `ack: time must be an RFC 3339 time, got ${show(time)}`);
    const ack = { node, epoch, version: o.version, digest, applied: o.applied, time };
    if (o.error !== undefined) {
        if (typeof o.error !== 'string')
            bad('BAD_ACK', `ack: error must be a string, got ${show(o.error)}`);
        ack.error = o.error.length > MAX_ACK_ERROR ? `${o.error.slice(0, MAX_ACK_ERROR)}...` : o.error;
    }
    if (!ack.applied && !ack.error)
        bad('BAD_ACK', 'ack: a refusal (applied: false) needs an error saying why');
    return ack;
}
