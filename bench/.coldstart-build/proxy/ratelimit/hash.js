/**
 * A seeded 64-bit hash of a string as two 32-bit lanes, written into a caller's Int32Array so
 * nothing is allocated per call. Stores key their buckets by it: a key of any length costs the
 * same memory, and with 64 bits two live keys of one zone practically never share a bucket
 * (about 1 in 10^11 for a 10,000-key zone). The seed is random per zone, so colliding keys
 * cannot be prepared in advance.
 */
function fmix(h) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
}
/** out[0] = high lane, out[1] = low lane; never both 0 (0/0 marks an empty slot). */
export function hash64(s, seed, out) {
    let h1 = seed ^ 0x811c9dc5;
    let h2 = Math.imul(seed ^ 0x27d4eb2f, 0x9e3779b1);
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x5bd1e995);
        h2 ^= h2 >>> 15;
    }
    h1 = fmix(h1 ^ s.length);
    h2 = fmix(h2 ^ Math.imul(s.length, 0x9e3779b1));
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    out[0] = h1;
    out[1] = h1 === 0 && h2 === 0 ? 1 : h2;
}
/** A random 32-bit seed. */
export function randomSeed() {
    return (Math.random() * 0x1_0000_0000) | 0;
}
