/** Hashing for affinity: fast non-cryptographic hashes and the opaque endpoint token. */
import { createHmac } from 'node:crypto';
/** FNV-1a over UTF-16 code units, 32 bits: fast and well spread for header values. */
export function fnv1a(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
    }
    // Final avalanche (murmur3 fmix32) so that similar strings land far apart on the ring.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
}
/**
 * The cookie value naming an endpoint: an HMAC of cluster and address under the proxy's
 * affinity secret, so a cookie never reveals a pod address and proxies sharing the secret agree.
 */
export function affinityToken(secret, clusterId, key) {
    return createHmac('sha256', secret).update(`${clusterId}|${key}`).digest('base64url').slice(0, 16);
}
