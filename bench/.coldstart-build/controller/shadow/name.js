/**
 * Names of shadow Services. A shadow lives in the mesh namespace, so its name must say which
 * Service it stands for, fit a DNS-1035 label (63 characters; Caddy Mesh's names did not), and
 * never collide.
 */
import { createHash } from 'node:crypto';
const MAX_LABEL = 63;
const HASH_LENGTH = 8;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Names the chart gives the mesh's own Services; a shadow never takes one of these forms plainly. */
const RESERVED_PREFIX = 'hostmesh-';
function hash(namespace, name) {
    const hex = createHash('sha256').update(`${namespace}/${name}`).digest('hex');
    return Number.parseInt(hex.slice(0, 12), 16).toString(36).padStart(HASH_LENGTH, '0').slice(-HASH_LENGTH);
}
function sanitize(text) {
    return text.toLowerCase().replaceAll(/[^a-z0-9-]/g, '-');
}
/**
 * `<name>-<namespace>` when that is a valid label and cannot be read two ways (neither part has a
 * dash, so exactly one dash separates them); otherwise a readable prefix of both, shortened to
 * fit, and a hash of the exact inputs: `<name>-<namespace>-<hash>`, which has at least two dashes
 * and so never equals a plain name.
 */
export function shadowServiceName(namespace, name) {
    const plain = `${name}-${namespace}`;
    if (DNS1035_LABEL.test(name) && DNS1123_LABEL.test(namespace) && !name.includes('-') && !namespace.includes('-')
        && plain.length <= MAX_LABEL && !plain.startsWith(RESERVED_PREFIX)) {
        return plain;
    }
    let n = sanitize(name);
    if (!/^[a-z]/.test(n))
        n = `s${n}`;
    let ns = sanitize(namespace) || 'ns';
    const budget = MAX_LABEL - HASH_LENGTH - 2;
    if (n.length + ns.length > budget) {
        // The name says more than the namespace: the namespace gets what the name leaves, at least 10.
        ns = ns.slice(0, Math.max(10, budget - n.length));
        n = n.slice(0, budget - ns.length);
    }
    return `${n}-${ns}-${hash(namespace, name)}`;
}
