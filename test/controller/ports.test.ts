import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocatePorts } from '../../src/controller/translation/ports.ts';

const entries = (m: Map<string, number>) => [...m].toSorted(([a], [b]) => (a < b ? -1 : 1));

test('new ids get the lowest free ports, in namespace/name/port order', () => {
  const r = allocatePorts(['b/x:80', 'a/y:443', 'a/y:80'], new Map(), [100, 110]);
  assert.deepEqual(entries(r.ports), [['a/y:443', 101], ['a/y:80', 100], ['b/x:80', 102]]);
  assert.deepEqual(r.unallocated, []);
});

test('existing allocations are kept and freed ones released', () => {
  const existing = new Map([['a/y:80', 105], ['gone/z:80', 100]]);
  const r = allocatePorts(['a/y:80', 'c/w:80'], existing, [100, 110]);
  // 100 was freed by this call, so the newcomer gets 101 rather than a port still draining.
  assert.deepEqual(entries(r.ports), [['a/y:80', 105], ['c/w:80', 101]]);
});

test('a port freed in the same call is reused only when nothing else is free', () => {
  const r = allocatePorts(['a/new:80'], new Map([['a/old:80', 100]]), [100, 100]);
  assert.deepEqual(entries(r.ports), [['a/new:80', 100]]);
});

test('allocations outside the range, or doubled, are moved', () => {
  const existing = new Map([['a/x:80', 99], ['a/y:80', 101], ['a/z:80', 101]]);
  const r = allocatePorts(['a/x:80', 'a/y:80', 'a/z:80'], existing, [100, 102]);
  assert.deepEqual(entries(r.ports), [['a/x:80', 100], ['a/y:80', 101], ['a/z:80', 102]]);
});

test('running out of ports leaves ids unallocated, never throws', () => {
  const r = allocatePorts(['a/a:1', 'a/b:1', 'a/c:1'], new Map([['a/c:1', 7]]), [7, 8]);
  assert.deepEqual(entries(r.ports), [['a/a:1', 8], ['a/c:1', 7]]);
  assert.deepEqual(r.unallocated, ['a/b:1']);
  assert.deepEqual(allocatePorts(['a/a:1'], new Map(), [10, 5]).unallocated, ['a/a:1']);
  assert.deepEqual(allocatePorts(['a/a:1'], new Map(), [70000, 80000]).unallocated, ['a/a:1']);
});

const id = fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 1, max: 5 })).map(([ns, n, p]) => `${ns}/${n}:${p}`);
const range = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 12 })).map(([from, len]): [number, number] => [from, Math.min(65535, from + len)]);

test('property: ports are unique, in range, stable for kept ids, and as many as fit', () => {
  fc.assert(fc.property(fc.array(id, { maxLength: 20 }), fc.array(fc.tuple(id, fc.integer({ min: 1, max: 65535 })), { maxLength: 20 }), range, (wanted, prior, r) => {
    const existing = new Map(prior);
    const { ports, unallocated } = allocatePorts(wanted, existing, r);
    const unique = new Set(wanted);
    const values = [...ports.values()];
    assert.equal(new Set(values).size, values.length, 'no port twice');
    for (const p of values) assert.ok(p >= r[0] && p <= r[1], `port ${p} in range`);
    for (const k of ports.keys()) assert.ok(unique.has(k), 'only wanted ids');
    assert.equal(ports.size + unallocated.length, unique.size);
    assert.equal(ports.size, Math.min(unique.size, r[1] - r[0] + 1));
    // Any existing in-range allocation that is not contested survives.
    const counts = new Map<number, number>();
    for (const k of unique) { const p = existing.get(k); if (p !== undefined) counts.set(p, (counts.get(p) ?? 0) + 1); }
    for (const k of unique) {
      const p = existing.get(k);
      if (p !== undefined && p >= r[0] && p <= r[1] && counts.get(p) === 1) assert.equal(ports.get(k), p, `${k} keeps ${p}`);
    }
  }), { numRuns: 500 });
});

test('property: allocating again with the result changes nothing', () => {
  fc.assert(fc.property(fc.array(id, { maxLength: 20 }), range, (wanted, r) => {
    const first = allocatePorts(wanted, new Map(), r);
    const second = allocatePorts(wanted, first.ports, r);
    assert.deepEqual(entries(second.ports), entries(first.ports));
  }), { numRuns: 300 });
});
