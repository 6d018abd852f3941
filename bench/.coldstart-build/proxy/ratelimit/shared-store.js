/**
 * A zone every worker thread shares: a set-associative hash table of buckets in one
 * SharedArrayBuffer, so N workers enforce one limit, not N.
 *
 * Layout (one buffer per route and policy):
 *
 *   header  Int32[16]    magic, layout, sets, ways, seed, size, evictions, lock timeouts
 *   epoch   Float64      the zone's clock origin (Unix ms), shared by every thread
 *   locks   Int32[sets]  0 = free, else the id of the thread holding the set
 *   tags    Int32[2*n]   the 64-bit key hash of each slot (0/0 = empty)
 *   tats    Float64[n]   the bucket of each slot (GCRA TAT, ms on the zone's clock)
 *
 * A key hashes to one set of `ways` slots. Under the set's lock (a compare-and-swap, held for a
 * few dozen instructions) the set is searched for the key; a new key takes an empty slot, or
 * else the slot whose bucket is fullest (the oldest TAT): a full bucket is the same as a
 * forgotten one, so this evicts the key whose loss changes least. Memory is fixed at creation:
 * capacity = sets * ways >= zone size; pages are touched as keys arrive.
 *
 * A thread that cannot take a lock within about 100 ms (its holder was descheduled for that
 * long, or died holding it) admits the request uncounted rather than stall: fail open. The
 * supervisor frees the locks of a worker that died before starting its replacement.
 */
import { HostmeshError } from '../../common/errors.js';
import { admit, outcome } from './bucket.js';
import { hash64, randomSeed } from './hash.js';
const MAGIC = 0x686d726c;
const LAYOUT = 1;
const H_MAGIC = 0;
const H_LAYOUT = 1;
const H_SETS = 2;
const H_WAYS = 3;
const H_SEED = 4;
const H_SIZE = 5;
const H_EVICTIONS = 6;
const H_LOCK_TIMEOUTS = 7;
const HEADER_INTS = 16;
const EPOCH_OFFSET = HEADER_INTS * 4;
const LOCKS_OFFSET = EPOCH_OFFSET + 8;
/** Slots per set: one 64-byte cache line of TATs; enough that a set rarely overflows early. */
export const WAYS = 8;
/** Compare-and-swap tries before sleeping, then 1 ms sleeps before failing open. */
const SPINS = 256;
const WAITS = 100;
/**
 * The zone clock starts a second before creation, so a thread whose clock lags the creator's
 * by a fraction of a millisecond never sees a negative time.
 */
const EPOCH_MARGIN_MS = 1000;
function geometry(sets, ways) {
    const slots = sets * ways;
    const tagsOffset = Math.ceil((LOCKS_OFFSET + sets * 4) / 8) * 8;
    const tatsOffset = tagsOffset + slots * 8;
    return { sets, ways, tagsOffset, tatsOffset, bytes: tatsOffset + slots * 8 };
}
/** Bytes a shared zone of `zoneSize` keys takes (virtual; pages are touched as keys arrive). */
export function sharedZoneBytes(zoneSize) {
    const ways = Math.min(WAYS, Math.max(1, zoneSize));
    return geometry(Math.ceil(Math.max(1, zoneSize) / ways), ways).bytes;
}
/** A new, empty shared zone for up to `zoneSize` keys (rounded up to whole sets). */
export function createSharedZone(zoneSize) {
    const ways = Math.min(WAYS, Math.max(1, zoneSize));
    const g = geometry(Math.ceil(Math.max(1, zoneSize) / ways), ways);
    let sab;
    try {
        sab = new SharedArrayBuffer(g.bytes);
    }
    catch (e) {
        throw new HostmeshError('RATE_LIMIT_ZONE_ALLOCATION', `cannot allocate a rate-limit zone of ${zoneSize} keys (${g.bytes} bytes): ${e instanceof Error ? e.message : String(e)}`);
    }
    const header = new Int32Array(sab, 0, HEADER_INTS);
    header[H_MAGIC] = MAGIC;
    header[H_LAYOUT] = LAYOUT;
    header[H_SETS] = g.sets;
    header[H_WAYS] = g.ways;
    header[H_SEED] = randomSeed();
    new Float64Array(sab, EPOCH_OFFSET, 1)[0] = performance.timeOrigin + performance.now() - EPOCH_MARGIN_MS;
    return sab;
}
function readGeometry(sab) {
    const header = new Int32Array(sab, 0, HEADER_INTS);
    const g = sab.byteLength >= LOCKS_OFFSET && header[H_MAGIC] === MAGIC && header[H_LAYOUT] === LAYOUT ? geometry(header[H_SETS], header[H_WAYS]) : undefined;
    if (g === undefined || g.bytes !== sab.byteLength)
        throw new HostmeshError('RATE_LIMIT_ZONE_INVALID', `a shared rate-limit zone of ${sab.byteLength} bytes has an unknown layout`);
    return g;
}
/**
 * Frees every set lock `owner` holds: called for a worker that died (it may have been stopped
 * inside a critical section), before its replacement starts. Returns how many were held.
 */
export function releaseLocks(sab, owner) {
    const g = readGeometry(sab);
    const locks = new Int32Array(sab, LOCKS_OFFSET, g.sets);
    let n = 0;
    for (let i = 0; i < g.sets; i++)
        if (Atomics.compareExchange(locks, i, owner, 0) === owner)
            n++;
    return n;
}
/** One thread's view of a shared zone. `owner` (>= 1) identifies the thread in the locks. */
export class SharedBucketStore {
    capacity;
    #policy;
    #owner;
    #header;
    #locks;
    #tags;
    #tats;
    #sets;
    #ways;
    #seed;
    /** This thread's clock to the zone's clock. */
    #offset;
    #hash = new Int32Array(2);
    constructor(sab, policy, owner) {
        if (!Number.isInteger(owner) || owner < 1)
            throw new HostmeshError('RATE_LIMIT_ZONE_OWNER', `a shared zone owner id must be an integer >= 1, got ${owner}`);
        const g = readGeometry(sab);
        const slots = g.sets * g.ways;
        this.#policy = policy;
        this.#owner = owner;
        this.#header = new Int32Array(sab, 0, HEADER_INTS);
        this.#locks = new Int32Array(sab, LOCKS_OFFSET, g.sets);
        this.#tags = new Int32Array(sab, g.tagsOffset, slots * 2);
        this.#tats = new Float64Array(sab, g.tatsOffset, slots);
        this.#sets = g.sets;
        this.#ways = g.ways;
        this.#seed = this.#header[H_SEED];
        this.#offset = performance.timeOrigin - new Float64Array(sab, EPOCH_OFFSET, 1)[0];
        this.capacity = slots;
    }
    get size() {
        return Atomics.load(this.#header, H_SIZE);
    }
    get evictions() {
        return Atomics.load(this.#header, H_EVICTIONS);
    }
    /** Requests admitted uncounted because a lock could not be taken in time. */
    get lockTimeouts() {
        return Atomics.load(this.#header, H_LOCK_TIMEOUTS);
    }
    now() {
        return this.#offset + performance.now();
    }
    take(key, now) {
        const h = this.#hash;
        hash64(key, this.#seed, h);
        const hi = h[0];
        const lo = h[1];
        const set = (hi >>> 0) % this.#sets;
        const policy = this.#policy;
        if (Atomics.compareExchange(this.#locks, set, 0, this.#owner) !== 0 && !this.#lockSlow(set)) {
            Atomics.add(this.#header, H_LOCK_TIMEOUTS, 1);
            return policy.intervalMs;
        }
        const tags = this.#tags;
        const tats = this.#tats;
        const base = set * this.#ways;
        const end = base + this.#ways;
        let slot = -1;
        let victim = base;
        let victimTat = Infinity;
        let empty = false;
        for (let s = base; s < end; s++) {
            const th = tags[2 * s];
            const tl = tags[2 * s + 1];
            if (th === hi && tl === lo) {
                slot = s;
                break;
            }
            // Slots fill in order and are never emptied: past the first empty one there is nothing.
            if (th === 0 && tl === 0) {
                victim = s;
                empty = true;
                break;
            }
            const t = tats[s];
            if (t < victimTat) {
                victim = s;
                victimTat = t;
            }
        }
        let stored;
        if (slot >= 0) {
            stored = tats[slot];
        }
        else {
            slot = victim;
            if (empty)
                Atomics.add(this.#header, H_SIZE, 1);
            else if (victimTat > now)
                Atomics.add(this.#header, H_EVICTIONS, 1);
            tags[2 * slot] = hi;
            tags[2 * slot + 1] = lo;
            stored = now;
        }
        const next = admit(stored, now, policy);
        tats[slot] = next === next ? next : stored;
        Atomics.store(this.#locks, set, 0);
        return outcome(stored, next, now, policy);
    }
    #lockSlow(set) {
        const locks = this.#locks;
        const owner = this.#owner;
        for (let i = 0; i < SPINS; i++)
            if (Atomics.compareExchange(locks, set, 0, owner) === 0)
                return true;
        for (let i = 0; i < WAITS; i++) {
            const holder = Atomics.load(locks, set);
            // Sleep while the holder (descheduled, most likely) still has it; no notify on unlock.
            if (holder !== 0)
                Atomics.wait(locks, set, holder, 1);
            if (Atomics.compareExchange(locks, set, 0, owner) === 0)
                return true;
        }
        return false;
    }
}
