/**
 * The rate-limit buckets and both stores: exact token-bucket behaviour against a reference
 * model (fast-check), bounded memory under a flood of distinct keys, the shared store's
 * eviction policy, lock recovery and its view from several threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { bucketPolicy, refusedSeconds, remainingAfter, resetSeconds } from '../../src/proxy/ratelimit/bucket.ts';
import { hash64 } from '../../src/proxy/ratelimit/hash.ts';
import { LruBucketStore } from '../../src/proxy/ratelimit/local-store.ts';
import { createSharedZone, releaseLocks, SharedBucketStore, sharedZoneBytes } from '../../src/proxy/ratelimit/shared-store.ts';
import type { RateLimitStore } from '../../src/proxy/ratelimit/store.ts';
import { LocalZones, OfferedZones, ZoneBuffers, zoneKey } from '../../src/proxy/ratelimit/zones.ts';
import { route } from '../support/tables.ts';

type Make = (rate: number, burst: number, zoneSize: number) => RateLimitStore;
const stores: [string, Make][] = [
  ['lru', (rate, burst, zoneSize) => new LruBucketStore(bucketPolicy({ ratePerSecond: rate, burst }), zoneSize)],
  ['shared', (rate, burst, zoneSize) => new SharedBucketStore(createSharedZone(zoneSize), bucketPolicy({ ratePerSecond: rate, burst }), 1)],
];

/** A token bucket counted in milliseconds of credit: integers only, so exact. */
class ReferenceBucket {
  credit: number;
  last = 0;
  readonly interval: number;
  readonly capacity: number;
  constructor(intervalMs: number, burst: number) {
    this.interval = intervalMs;
    this.capacity = intervalMs * burst;
    this.credit = this.capacity;
  }
  take(now: number): boolean {
    this.credit = Math.min(this.capacity, this.credit + (now - this.last));
    this.last = now;
    if (this.credit < this.interval) return false;
    this.credit -= this.interval;
    return true;
  }
}

for (const [name, make] of stores) {
  test(`${name} store: a full bucket admits exactly burst requests at once, then refills at the rate`, () => {
    const s = make(2, 5, 100);
    const t0 = 10_000;
    const seen = Array.from({ length: 7 }, () => s.take('k', t0));
    assert.deepEqual(seen.map((v) => v > 0), [true, true, true, true, true, false, false]);
    const p = bucketPolicy({ ratePerSecond: 2, burst: 5 });
    assert.deepEqual(seen.slice(0, 5).map((v) => remainingAfter(v, p)), [4, 3, 2, 1, 0]);
    assert.equal(resetSeconds(seen[4]!), 3, '5 tokens at 2/s: full again in 2.5 s, rounded up');
    assert.deepEqual(refusedSeconds(seen[5]!, p), { retryAfter: 1, reset: 3 });
    assert.ok(s.take('k', t0 + 499) < 0, 'no token before one interval (500 ms)');
    assert.ok(s.take('k', t0 + 500) > 0, 'one token after 500 ms');
    assert.ok(s.take('k', t0 + 500) < 0);
    assert.ok(s.take('other', t0 + 500) > 0, 'keys have their own buckets');
    assert.equal(s.size, 2);
  });

  test(`${name} store: matches a reference token bucket on any request sequence`, () => {
    fc.assert(fc.property(
      fc.constantFrom(1, 2, 4, 5, 10, 20),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.record({ key: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 700 }) }), { maxLength: 120 }),
      (rate, burst, steps) => {
        const s = make(rate, burst, 64);
        const interval = 1000 / rate;
        const refs = new Map<number, ReferenceBucket>();
        let now = 5000;
        for (const { key, dt } of steps) {
          now += dt;
          let ref = refs.get(key);
          if (ref === undefined) {
            ref = new ReferenceBucket(interval, burst);
            ref.last = now;
            refs.set(key, ref);
          }
          const expected = ref.take(now);
          const v = s.take(`key-${key}`, now);
          assert.equal(v > 0, expected, `key ${key} at ${now}`);
          if (expected) assert.equal(remainingAfter(v, bucketPolicy({ ratePerSecond: rate, burst })), Math.floor(ref.credit / interval));
        }
      },
    ), { numRuns: 150 });
  });

  test(`${name} store: per-minute rates and fractional rates`, () => {
    const s = make(0.5, 2, 10);
    assert.ok(s.take('k', 0) > 0);
    assert.ok(s.take('k', 0) > 0);
    const v = s.take('k', 0);
    assert.ok(v < 0);
    assert.equal(refusedSeconds(v, bucketPolicy({ ratePerSecond: 0.5, burst: 2 })).retryAfter, 2);
    assert.ok(s.take('k', 1999) < 0);
    assert.ok(s.take('k', 2000) > 0);
  });
}

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('100,000 distinct keys: both stores stay at the zone size, memory does not grow with the keys', (t) => {
  const gc = collectGarbage();
  const zoneSize = 10_000;
  for (const [name, make] of stores) {
    const s = make(10, 10, zoneSize);
    let now = 1000;
    for (let i = 0; i < zoneSize; i++) s.take(`client-${i}`, now);
    gc();
    const filled = process.memoryUsage().heapUsed;
    for (let i = zoneSize; i < 100_000; i++) {
      if (i % 1000 === 0) now += 1;
      s.take(`client-${i}-${'x'.repeat(i % 200)}`, now);
    }
    gc();
    const flooded = process.memoryUsage().heapUsed;
    assert.ok(s.size <= s.capacity, `${name}: size ${s.size} <= capacity ${s.capacity}`);
    assert.ok(s.size >= zoneSize, `${name}: full after the flood (${s.size})`);
    assert.ok(s.capacity - zoneSize < 8, `${name}: capacity ${s.capacity} is the zone size rounded up to a set`);
    assert.ok(s.evictions > 80_000, `${name}: the flood evicted keys whose bucket was not yet full (${s.evictions})`);
    const growthMb = (flooded - filled) / 1e6;
    t.diagnostic(`${name}: ${s.size} keys held after 100,000 distinct keys; heap ${((filled) / 1e6).toFixed(1)} MB -> ${(flooded / 1e6).toFixed(1)} MB${name === 'shared' ? `; shared buffer ${(sharedZoneBytes(zoneSize) / 1e6).toFixed(2)} MB` : ''}`);
    assert.ok(growthMb < 4, `${name}: heap grew ${growthMb.toFixed(1)} MB after the zone was full`);
  }
  assert.equal(sharedZoneBytes(zoneSize), 165_072, 'a 10,000-key shared zone is 16.5 bytes a key');
});

test('shared store eviction: a new key takes an empty slot, else the fullest bucket, never an exhausted one first', () => {
  const s = new SharedBucketStore(createSharedZone(8), bucketPolicy({ ratePerSecond: 1, burst: 3 }), 1);
  assert.equal(s.capacity, 8);
  const now = 100_000;
  // The abuser empties its bucket; seven quiet keys take one token each.
  for (let i = 0; i < 3; i++) s.take('abuser', now);
  assert.ok(s.take('abuser', now) < 0);
  for (let i = 0; i < 7; i++) s.take(`quiet-${i}`, now);
  assert.equal(s.size, 8);
  assert.equal(s.evictions, 0);
  // A flood of new keys (one set: every key competes for these 8 slots) never frees the abuser.
  for (let i = 0; i < 1000; i++) s.take(`flood-${i}`, now);
  assert.ok(s.take('abuser', now) < 0, 'the exhausted bucket was kept');
  assert.equal(s.size, 8);
  // Later, once every bucket is full again, keys are replaced without counting an eviction.
  const evictions = s.evictions;
  for (let i = 0; i < 8; i++) s.take(`later-${i}`, now + 10_000);
  assert.equal(s.evictions, evictions);
});

test('LRU store eviction: the least recently used key is forgotten', () => {
  const s = new LruBucketStore(bucketPolicy({ ratePerSecond: 1, burst: 1 }), 2);
  assert.ok(s.take('a', 0) > 0);
  assert.ok(s.take('b', 0) > 0);
  assert.ok(s.take('a', 0) < 0, 'a is now the most recent');
  assert.ok(s.take('c', 0) > 0, 'c evicts b');
  assert.equal(s.size, 2);
  assert.ok(s.take('a', 0) < 0, 'a was kept');
  assert.ok(s.take('b', 0) > 0, 'b was forgotten: a fresh bucket');
});

test('a lock left by a dead thread is released by its owner id; without release the store fails open', () => {
  const sab = createSharedZone(16);
  const p = bucketPolicy({ ratePerSecond: 1, burst: 1 });
  const mine = new SharedBucketStore(sab, p, 1);
  const locks = new Int32Array(sab, 72, 2);
  locks.fill(7);
  const before = mine.lockTimeouts;
  assert.ok(mine.take('k', 0) > 0);
  assert.ok(mine.take('k', 0) > 0, 'a stuck lock admits uncounted instead of stalling');
  assert.equal(mine.lockTimeouts, before + 2);
  assert.equal(releaseLocks(sab, 7), 2);
  assert.equal(releaseLocks(sab, 7), 0);
  assert.ok(mine.take('k', 0) > 0);
  assert.ok(mine.take('k', 0) < 0, 'counted again');
});

test('a shared zone refuses a buffer that is not one, and owner ids below 1', () => {
  const p = bucketPolicy({ ratePerSecond: 1, burst: 1 });
  assert.throws(() => new SharedBucketStore(new SharedArrayBuffer(256), p, 1), { code: 'RATE_LIMIT_ZONE_INVALID' });
  assert.throws(() => new SharedBucketStore(createSharedZone(8), p, 0), { code: 'RATE_LIMIT_ZONE_OWNER' });
});

test('hash64: deterministic per seed, different across seeds, never the empty tag', () => {
  const a = new Int32Array(2);
  const b = new Int32Array(2);
  fc.assert(fc.property(fc.string(), fc.integer(), (s, seed) => {
    hash64(s, seed, a);
    hash64(s, seed, b);
    assert.deepEqual(a, b);
    assert.ok(a[0] !== 0 || a[1] !== 0);
  }));
  const seen = new Set<string>();
  for (let i = 0; i < 200_000; i++) {
    hash64(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 42, a);
    seen.add(`${a[0]}:${a[1]}`);
  }
  assert.equal(seen.size, 200_000, 'no collision among 200,000 addresses');
  hash64('x', 1, a);
  hash64('x', 2, b);
  assert.notDeepEqual(a, b);
});

test('zones: kept while the route and policy stay, fresh when the policy changes, dropped with the route', () => {
  const policy = { ratePerSecond: 1, burst: 1, key: '{remote.ip}', zoneSize: 100 };
  const web = route('test', 'web', 80, { rateLimit: policy });
  for (const zones of [new LocalZones('lru'), new LocalZones('shared')]) {
    const z1 = zones.zone(web.id, policy);
    zones.retain([web]);
    assert.equal(zones.zone(web.id, policy), z1);
    const z2 = zones.zone(web.id, { ...policy, burst: 2 });
    assert.notEqual(z2, z1);
    zones.retain([]);
    assert.notEqual(zones.zone(web.id, policy), z1);
  }
  const buffers = new ZoneBuffers();
  const offer = buffers.plan([web, route('test', 'plain', 80)]);
  assert.equal(offer.length, 1);
  assert.equal(offer[0]![0], zoneKey(web.id, policy));
  buffers.commit(offer);
  assert.equal(buffers.plan([web])[0]![1], offer[0]![1], 'an unchanged zone keeps its buffer');
  const worker = new OfferedZones(3);
  assert.throws(() => worker.zone(web.id, policy), { code: 'RATE_LIMIT_ZONE_MISSING' });
  worker.offer(offer);
  const view = worker.zone(web.id, policy);
  assert.equal(worker.zone(web.id, policy), view);
});

test('one shared zone, four threads hammering one key: exactly burst requests are admitted', async (t) => {
  const sab = createSharedZone(1000);
  const burst = 500;
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { sab, owner, url } = workerData;
    import(url).then(({ SharedBucketStore }) => import(workerData.bucketUrl).then(({ bucketPolicy }) => {
      const s = new SharedBucketStore(sab, bucketPolicy({ ratePerSecond: 1 / 3600, burst: ${burst} }), owner);
      let admitted = 0;
      for (let i = 0; i < 5000; i++) if (s.take('one-key', s.now()) > 0) admitted++;
      parentPort.postMessage(admitted);
    }));`;
  const url = new URL('../../src/proxy/ratelimit/shared-store.ts', import.meta.url).href;
  const bucketUrl = new URL('../../src/proxy/ratelimit/bucket.ts', import.meta.url).href;
  const counts = await Promise.all([1, 2, 3, 4].map((owner) => new Promise<number>((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { sab, owner, url, bucketUrl } });
    t.after(() => w.terminate());
    w.once('message', resolve);
    w.once('error', reject);
  })));
  assert.equal(counts.reduce((a, b) => a + b, 0), burst, `admitted per thread: ${counts.join(', ')}`);
});
