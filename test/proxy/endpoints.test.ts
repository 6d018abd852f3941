import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EndpointPool } from '../../src/proxy/endpoints/pool.ts';
import type { EndpointState } from '../../src/proxy/endpoints/endpoint.ts';
import type { LoadBalancer } from '../../src/table/index.ts';
import { cluster } from '../support/tables.ts';

function eps(n: number) {
  return Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080 }));
}

function pool(n: number, lb: LoadBalancer = { kind: 'least-request' }, extra: { maxFails?: number; failDurationMs?: number; clock?: { t: number } } = {}) {
  const clock = extra.clock ?? { t: 1000 };
  const removed: string[] = [];
  const p = new EndpointPool(cluster('test', 'web', 80, eps(n), {
    loadBalancer: lb,
    passiveHealth: { maxFails: extra.maxFails ?? 1, failDurationMs: extra.failDurationMs ?? 10_000 },
  }), { affinitySecret: 's3cret', now: () => clock.t, onRemoved: (ep) => removed.push(ep.key) });
  return { p, clock, removed };
}

function counts(picks: (EndpointState | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const ep of picks) if (ep) m.set(ep.key, (m.get(ep.key) ?? 0) + 1);
  return m;
}

test('least-request (P2C) spreads evenly when idle and avoids the busy endpoint', () => {
  const { p } = pool(3);
  const picked = counts(Array.from({ length: 3000 }, () => p.pick()));
  assert.equal(picked.size, 3);
  for (const c of picked.values()) assert.ok(c > 800 && c < 1200, `uneven spread ${[...picked.values()]}`);

  const two = pool(2).p;
  const busy = two.endpoints[0]!;
  for (let i = 0; i < 5; i++) two.acquire(busy);
  // With two endpoints both are always compared, so the idle one always wins.
  for (let i = 0; i < 100; i++) assert.equal(two.pick()!.key, two.endpoints[1]!.key);
  for (let i = 0; i < 5; i++) two.release(busy);
  two.release(busy);
  assert.equal(busy.inFlight, 0, 'release never goes below zero');
});

test('least-request keeps in-flight requests balanced under load', () => {
  const { p } = pool(4);
  const held: EndpointState[] = [];
  for (let i = 0; i < 400; i++) {
    const ep = p.pick()!;
    p.acquire(ep);
    held.push(ep);
  }
  const loads = p.endpoints.map((ep) => ep.inFlight);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 20, `loads ${loads}`);
});

test('round-robin visits every endpoint in turn', () => {
  const { p } = pool(4, { kind: 'round-robin' });
  const seq = Array.from({ length: 12 }, () => p.pick()!.key);
  const c = counts(seq.map((k) => p.endpoints.find((e) => e.key === k)));
  assert.deepEqual([...c.values()], [3, 3, 3, 3]);
  for (let i = 4; i < 12; i++) assert.equal(seq[i], seq[i - 4]);
});

test('random spreads roughly uniformly', () => {
  const { p } = pool(4, { kind: 'random' });
  const c = counts(Array.from({ length: 4000 }, () => p.pick()));
  assert.equal(c.size, 4);
  for (const v of c.values()) assert.ok(v > 800 && v < 1200, `uneven ${[...c.values()]}`);
});

test('cookie affinity: the token names an endpoint opaquely and pins requests to it', () => {
  const { p, clock } = pool(3, { kind: 'cookie', cookie: 'lb' });
  const target = p.endpoints[2]!;
  assert.match(target.token, /^[A-Za-z0-9_-]{16}$/);
  assert.ok(!target.token.includes('10.0.0'), 'the token never contains the address');
  for (let i = 0; i < 50; i++) assert.equal(p.pick({ affinity: target.token }), target);
  // Unknown token: some endpoint, chosen by least request.
  assert.ok(p.pick({ affinity: 'nonsense' }));
  // Resting endpoint: the cookie is not honoured while it rests.
  p.reportFailure(target);
  for (let i = 0; i < 50; i++) assert.notEqual(p.pick({ affinity: target.token }), target);
  clock.t += 10_001;
  assert.equal(p.pick({ affinity: target.token }), target);
  // Another pool with the same secret and cluster agrees on the token (several proxies).
  assert.equal(pool(3, { kind: 'cookie', cookie: 'lb' }).p.endpoints[2]!.token, target.token);
});

test('header hash: the same value sticks, values spread, and removal moves only the removed share', () => {
  const { p } = pool(5, { kind: 'header', header: 'x-user' });
  const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  const before = new Map(users.map((u) => [u, p.pick({ affinity: u })!.key]));
  for (const u of users.slice(0, 50)) assert.equal(p.pick({ affinity: u })!.key, before.get(u));
  const spread = counts(users.map((u) => p.endpoints.find((e) => e.key === before.get(u))));
  assert.equal(spread.size, 5);
  for (const v of spread.values()) assert.ok(v > 200 && v < 650, `uneven ${[...spread.values()]}`);
  // Without the header: least-request, still an endpoint.
  assert.ok(p.pick({}));

  const gone = p.endpoints[1]!.key;
  p.plan(cluster('test', 'web', 80, eps(5).filter((_, i) => i !== 1), { loadBalancer: { kind: 'header', header: 'x-user' } })).commit();
  let moved = 0;
  for (const u of users) {
    const now = p.pick({ affinity: u })!.key;
    if (before.get(u) !== gone) assert.equal(now, before.get(u), 'keys of remaining endpoints stay put');
    else moved++;
  }
  assert.equal(moved, spread.get(gone));
});

test('passive health: after maxFails dial failures an endpoint rests, then comes back', () => {
  const { p, clock } = pool(2, { kind: 'round-robin' }, { maxFails: 2, failDurationMs: 5000 });
  const [a, b] = p.endpoints as [EndpointState, EndpointState];
  p.reportFailure(a);
  assert.equal(p.isResting(a), false, 'one failure of two allowed');
  p.reportSuccess(a);
  p.reportFailure(a);
  assert.equal(p.isResting(a), false, 'a success resets the count');
  p.reportFailure(a);
  assert.equal(p.isResting(a), true);
  for (let i = 0; i < 10; i++) assert.equal(p.pick(), b);
  clock.t += 4999;
  assert.equal(p.pick(), b);
  clock.t += 2;
  assert.equal(counts([p.pick(), p.pick()]).size, 2, 'rested endpoint is back in rotation');

  // All resting: use them anyway rather than fail.
  p.reportFailure(a); p.reportFailure(a); p.reportFailure(b); p.reportFailure(b);
  assert.ok(p.isResting(a) && p.isResting(b));
  assert.ok(p.pick());

  // maxFails 0 disables passive health.
  const off = pool(1, { kind: 'least-request' }, { maxFails: 0 }).p;
  for (let i = 0; i < 5; i++) off.reportFailure(off.endpoints[0]!);
  assert.equal(off.isResting(off.endpoints[0]!), false);
});

test('passive health turned off by a new table ends the rests already imposed', () => {
  const { p } = pool(2, { kind: 'round-robin' }, { maxFails: 1, failDurationMs: 60_000 });
  const [a, b] = p.endpoints as [EndpointState, EndpointState];
  p.reportFailure(a);
  assert.equal(p.isResting(a), true);
  p.plan(cluster('test', 'web', 80, eps(2), { loadBalancer: { kind: 'round-robin' }, passiveHealth: { maxFails: 0, failDurationMs: 60_000 } })).commit();
  assert.equal(p.isResting(a), false);
  assert.deepEqual(counts([p.pick(), p.pick()]), new Map([[a.key, 1], [b.key, 1]]));
});

test('excluded endpoints are skipped unless nothing else is left', () => {
  for (const lb of [{ kind: 'least-request' }, { kind: 'round-robin' }, { kind: 'random' }, { kind: 'cookie', cookie: 'c' }, { kind: 'header', header: 'h' }] as LoadBalancer[]) {
    const { p } = pool(3, lb);
    const [a, b, c] = p.endpoints as [EndpointState, EndpointState, EndpointState];
    for (let i = 0; i < 30; i++) assert.equal(p.pick({ affinity: a.token }, new Set([a, b])), c, lb.kind);
    assert.ok(p.pick(undefined, new Set([a, b, c])), `${lb.kind}: all excluded still picks`);
    // Excluded beats resting only when the rest is excluded too: resting non-excluded first.
    p.reportFailure(c);
    assert.equal(p.pick(undefined, new Set([a, b])), c, `${lb.kind}: resting but not excluded`);
  }
});

test('reconcile keeps state of staying endpoints and reports removed ones', () => {
  const { p, removed } = pool(3);
  const [a, b] = p.endpoints as [EndpointState, EndpointState];
  p.acquire(a); p.acquire(a);
  p.reportFailure(b);
  const next = cluster('test', 'web', 80, [eps(3)[0]!, eps(3)[1]!, { address: 'fd00::7', port: 9090 }]);
  const update = p.plan(next);
  assert.equal(p.size, 3);
  assert.deepEqual(removed, [], 'planning changes nothing');
  assert.equal(p.endpoints[2]!.key, '10.0.0.3:8080');
  update.commit();
  assert.deepEqual(removed, ['10.0.0.3:8080']);
  assert.deepEqual(p.endpoints.map((e) => e.key), ['10.0.0.1:8080', '10.0.0.2:8080', '[fd00::7]:9090']);
  assert.equal(p.endpoints[0], a);
  assert.equal(a.inFlight, 2);
  assert.equal(p.isResting(b), true);
  p.clear();
  assert.equal(p.size, 0);
  assert.equal(p.pick(), undefined);
  assert.equal(removed.length, 4);
});

test('picking never fails while endpoints exist, under any sequence of operations', () => {
  const lbs: LoadBalancer[] = [{ kind: 'least-request' }, { kind: 'round-robin' }, { kind: 'random' }, { kind: 'cookie', cookie: 'c' }, { kind: 'header', header: 'h' }];
  const op = fc.oneof(
    fc.record({ t: fc.constant('pick' as const), affinity: fc.option(fc.string(), { nil: undefined }), excl: fc.nat(7) }),
    fc.record({ t: fc.constant('fail' as const), i: fc.nat(9) }),
    fc.record({ t: fc.constant('ok' as const), i: fc.nat(9) }),
    fc.record({ t: fc.constant('tick' as const), ms: fc.nat(20_000) }),
    fc.record({ t: fc.constant('resize' as const), n: fc.nat(6) }),
  );
  fc.assert(fc.property(fc.constantFrom(...lbs), fc.array(op, { maxLength: 60 }), (lb, ops) => {
    const { p, clock } = pool(3, lb, { maxFails: 1, failDurationMs: 3000 });
    for (const o of ops) {
      const list = p.endpoints;
      if (o.t === 'pick') {
        const exclude = new Set(list.filter((_, i) => (o.excl >> i) & 1));
        const ep = p.pick({ affinity: o.affinity }, exclude);
        if (list.length === 0) assert.equal(ep, undefined);
        else {
          assert.ok(ep && list.includes(ep));
          p.acquire(ep);
          p.release(ep);
          assert.ok(ep.inFlight >= 0);
        }
      } else if (o.t === 'fail' && list.length > 0) p.reportFailure(list[o.i % list.length]!);
      else if (o.t === 'ok' && list.length > 0) p.reportSuccess(list[o.i % list.length]!);
      else if (o.t === 'tick') clock.t += o.ms;
      else if (o.t === 'resize') p.plan(cluster('test', 'web', 80, eps(o.n), { loadBalancer: lb })).commit();
    }
  }), { numRuns: 300 });
});
