/**
 * A zone in one thread: a Map from the key's hash to its TAT, in least-recently-used order
 * (every take moves the key to the end; past `capacity` the first key is forgotten). Memory is
 * bounded by the zone size whatever the keys look like: keys are stored as 53-bit hashes.
 */
import { admit, outcome } from './bucket.js';
import { hash64, randomSeed } from './hash.js';
export class LruBucketStore {
    capacity;
    evictions = 0;
    #policy;
    #tats = new Map();
    #seed = randomSeed();
    #hash = new Int32Array(2);
    constructor(policy, capacity) {
        this.#policy = policy;
        this.capacity = Math.max(1, capacity);
    }
    get size() {
        return this.#tats.size;
    }
    now() {
        return performance.now();
    }
    take(key, now) {
        const h = this.#hash;
        hash64(key, this.#seed, h);
        const k = (h[0] >>> 11) * 0x1_0000_0000 + (h[1] >>> 0);
        const tats = this.#tats;
        let stored = tats.get(k);
        if (stored === undefined) {
            stored = now;
            if (tats.size >= this.capacity)
                this.#evictOldest(now);
        }
        else {
            tats.delete(k);
        }
        const next = admit(stored, now, this.#policy);
        tats.set(k, next === next ? next : stored);
        return outcome(stored, next, now, this.#policy);
    }
    #evictOldest(now) {
        const first = this.#tats.entries().next();
        if (first.done === true)
            return;
        if (first.value[1] > now)
            this.evictions++;
        this.#tats.delete(first.value[0]);
    }
}
