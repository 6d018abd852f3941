/** The circuit breaker: its rolling window, its states on a driven clock, and the stage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogger } from '../../src/common/log.ts';
import { compileBreaker } from '../../src/expr/index.ts';
import type { Breaker } from '../../src/expr/index.ts';
import type { Exchange, HttpRoute } from '../../src/proxy/http/exchange.ts';
import type { Failure } from '../../src/proxy/http/failures.ts';
import { DEFAULT_LIMITS } from '../../src/proxy/limits.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import type { RouteStatsPlan } from '../../src/proxy/metrics.ts';
import { CircuitBreaker, circuitBreaker } from '../../src/proxy/stages/circuit-breaker/circuit-breaker.ts';
import { stageContext } from '../../src/proxy/stages/pipeline.ts';
import type { Link } from '../../src/proxy/stages/types.ts';
import { binValue, latencyBin, RollingWindow } from '../../src/proxy/stages/circuit-breaker/window.ts';
import { route as routeEntry } from '../support/tables.ts';
import { client, engine, freePort, get, httpBackend, metricValue, svc, table } from './helpers.ts';

function expr(source: string): Breaker {
  const c = compileBreaker(source);
  assert.ok(c.ok);
  return c.fn;
}

const LIMITS = { breakerWindowMs: 10_000, breakerCheckPeriodMs: 100, breakerFallbackMs: 1_000, breakerRecoveryMs: 1_000 };

function clocked(source: string, limits = LIMITS) {
  let now = 1_000_000;
  const changes: string[] = [];
  const b = new CircuitBreaker(expr(source), { ...limits, now: () => now, onChange: (s) => changes.push(s) });
  return { b, changes, tick: (ms: number) => { now += ms; }, now: () => now };
}

test('window: ratios over the live buckets, Traefik style', () => {
  const w = new RollingWindow(10_000, true);
  const at = 50_000;
  for (const s of [200, 200, 200, 500, 502, 504, 404, 503]) w.record(s, 10, at);
  w.at(at);
  assert.equal(w.total(), 8);
  assert.equal(w.networkErrorRatio(), 2 / 8, '502 and 504 are network errors');
  assert.equal(w.responseCodeRatio(500, 600, 0, 600), 4 / 8);
  assert.equal(w.responseCodeRatio(500, 600, 200, 300), 4 / 3);
  assert.equal(w.responseCodeRatio(500, 600, 300, 400), 0, 'no divisor: 0');
  assert.equal(w.latencyAtQuantileMS(50), 10);
});

test('window: results age out bucket by bucket; reset forgets everything', () => {
  const w = new RollingWindow(10_000, false);
  w.record(502, 1, 100_000);
  w.record(200, 1, 105_000);
  assert.equal(w.at(105_000).networkErrorRatio(), 0.5);
  assert.equal(w.at(109_999).total(), 2);
  assert.equal(w.at(110_000).total(), 1, 'the bucket of 100 s has left the 10 s window');
  assert.equal(w.at(110_000).networkErrorRatio(), 0);
  assert.equal(w.at(115_000).total(), 0);
  w.record(502, 1, 120_000);
  w.record(502, 1, 130_500);
  assert.equal(w.at(130_500).total(), 1, 'a recycled bucket starts empty');
  w.reset();
  assert.equal(w.at(130_500).total(), 0);
  assert.equal(w.latencyAtQuantileMS(99), 0, 'no latency kept without the histogram');
});

test('latency bins: exact below 256 ms, monotone, at most 1.6% low above', () => {
  for (let v = 0; v < 256; v++) assert.equal(binValue(latencyBin(v)), v);
  assert.equal(latencyBin(2 ** 40), latencyBin(2 ** 22), 'longer than 70 minutes: the last bin');
  assert.equal(latencyBin(10.9), 10, 'whole milliseconds, truncated');
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 22 - 1 }), fc.integer({ min: 0, max: 2 ** 22 - 1 }), (a, b) => {
    if (a <= b) assert.ok(latencyBin(a) <= latencyBin(b));
    const got = binValue(latencyBin(a));
    assert.ok(got <= a && a - got <= a / 64, `${a} -> ${got}`);
  }));
});

test('LatencyAtQuantileMS matches the exact quantile of the recorded latencies within the bin precision', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 600_000 }), { minLength: 1, maxLength: 300 }),
    fc.double({ min: 0, max: 100, noNaN: true }),
    (latencies, q) => {
      const w = new RollingWindow(10_000, true);
      latencies.forEach((ms, i) => w.record(200, ms, 7_000 + i));
      const sorted = latencies.toSorted((x, y) => x - y);
      const exact = sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1]!;
      const got = w.at(8_000).latencyAtQuantileMS(q);
      assert.ok(got <= exact && exact - got <= exact / 64, `q=${q}: exact ${exact}, got ${got}`);
    },
  ));
});

test('breaker: opens when the expression holds, refuses for the fallback, recovers gradually, closes', () => {
  const { b, changes, tick } = clocked('NetworkErrorRatio() > 0.5');
  assert.equal(b.state, 'closed');
  for (let i = 0; i < 3; i++) b.record(200, 5, 1_000_000);
  tick(150);
  b.record(502, 5, 1_000_150);
  assert.equal(b.state, 'closed', '1 of 4 failed');
  tick(150);
  b.record(502, 5, 1_000_300);
  b.record(502, 5, 1_000_300);
  assert.equal(b.state, 'closed', 'not checked again within the check period');
  tick(100);
  b.record(502, 5, 1_000_400);
  assert.equal(b.state, 'open');
  assert.equal(b.isOpen(), true);
  assert.equal(b.window.at(1_000_400).total(), 0, 'the window starts afresh');
  for (let i = 0; i < 50; i++) assert.equal(b.allow(), false);
  tick(999);
  assert.equal(b.allow(), false, 'still within the fallback');
  tick(1);
  assert.equal(b.state, 'recovering');
  // Over the recovery the share allowed so far rises linearly to one half (the share of each
  // moment's requests, from nothing to all of them).
  let allowed = 0;
  for (let step = 0; step < 100; step++) {
    tick(10);
    for (let i = 0; i < 10; i++) if (b.allow()) allowed++;
  }
  assert.equal(b.state, 'closed');
  assert.ok(allowed > 400 && allowed < 600, `allowed ${allowed} of 1000 (about half)`);
  assert.deepEqual(changes, ['open', 'recovering', 'closed']);
  assert.equal(b.allow(), true);
  assert.equal(b.isOpen(), false);
});

test('breaker: a failure while recovering opens it again', () => {
  const { b, changes, tick, now } = clocked('NetworkErrorRatio() > 0.5');
  b.record(504, 5, now());
  assert.equal(b.state, 'open');
  tick(1_000);
  assert.equal(b.state, 'recovering');
  let tries = 0;
  for (; tries < 1000 && !b.allow(); tries++) tick(1);
  assert.ok(tries < 1000, 'a request passes early in the recovery');
  b.record(502, 5, now());
  assert.equal(b.state, 'open');
  assert.equal(b.allow(), false);
  assert.deepEqual(changes, ['open', 'recovering', 'open']);

  // The phases follow the clock: with no traffic at all the breaker is closed after both.
  tick(2_000);
  assert.equal(b.state, 'closed');
});

test('breaker: response-code and latency expressions', () => {
  const codes = clocked('ResponseCodeRatio(500, 600, 0, 600) > 0.25');
  for (let i = 0; i < 3; i++) codes.b.record(200, 1, codes.now());
  codes.tick(200);
  codes.b.record(500, 1, codes.now());
  assert.equal(codes.b.state, 'closed', 'exactly a quarter');
  codes.tick(200);
  codes.b.record(503, 1, codes.now());
  assert.equal(codes.b.state, 'open');

  const slow = clocked('LatencyAtQuantileMS(50.0) > 100');
  slow.b.record(200, 150, slow.now());
  assert.equal(slow.b.state, 'open');
  const fast = clocked('LatencyAtQuantileMS(50.0) > 100');
  fast.b.record(200, 100, fast.now());
  assert.equal(fast.b.state, 'closed', '100 is not above 100');
});

function routeFor(expression: string | undefined): { route: HttpRoute; plan: RouteStatsPlan } {
  const metrics = new ProxyMetrics();
  const entry = routeEntry('test', 'web', 80, expression === undefined ? {} : { circuitBreaker: { expression } });
  const stats = metrics.route(entry);
  const bs = stats.backend('web');
  const route = { id: entry.id, entry, backends: [], rules: [], stats, defaultStats: bs, retryAfterSeconds: 5, log: createLogger('test', 'silent'), warnings: [], handle: () => {}, complete: () => {} } as unknown as HttpRoute;
  return { route, plan: { id: entry.id, stats, backends: [bs] } };
}

const NEXT: Link = { handle: () => {}, complete: () => {} };

test('stage: no expression costs nothing; open answers circuit-open; closed lets through and watches', () => {
  const none = routeFor(undefined);
  assert.equal(circuitBreaker(stageContext(none.route, { plan: none.plan }), NEXT), NEXT);
  assert.equal(none.plan.breaker, undefined);

  const { route, plan } = routeFor('NetworkErrorRatio() > 0.5');
  const passed: Exchange[] = [];
  const completed: number[] = [];
  const ctx = stageContext(route, { limits: { ...DEFAULT_LIMITS, breakerCheckPeriodMs: 0 }, plan });
  const link = circuitBreaker(ctx, { handle: (ex) => passed.push(ex), complete: (_ex, status) => completed.push(status) });
  const breaker = plan.breaker as CircuitBreaker;
  assert.ok(breaker instanceof CircuitBreaker, 'the gauge is declared on the plan');
  const failures: Failure[] = [];
  const exchange = () => ({ marks: 0, start: performance.now(), fail: (f: Failure) => failures.push(f) }) as unknown as Exchange;
  const ex = exchange();
  link.handle(ex);
  assert.equal(passed.length, 1);
  assert.notEqual(ex.marks, 0, 'the exchange is marked as let through');
  link.complete(ex, 502, performance.now());
  assert.equal(breaker.isOpen(), true, 'its outcome reached the breaker');
  const refused = exchange();
  link.handle(refused);
  assert.equal(passed.length, 1);
  assert.deepEqual(failures, ['circuit-open']);
  assert.equal(refused.marks, 0, 'a refused request is not recorded');
  assert.deepEqual(completed, [502], 'completion goes on to the next stage');
});

test('stage: an expression that does not compile leaves the route without a breaker, with a warning', () => {
  const { route, plan } = routeFor('NetworkErrorRatio( > 1');
  assert.equal(circuitBreaker(stageContext(route, { plan }), NEXT), NEXT);
  assert.equal(route.warnings.length, 1);
  assert.match(route.warnings[0]!, /route test\/web:80: the circuit-breaker expression is ignored \(the route runs without a breaker\): EXPR_/);
});

test('through the engine: opens on failures, answers 503 without reaching the backend, closes again', async (t) => {
  let failing = false;
  let hits = 0;
  const b = await httpBackend(t, (_req, res) => {
    hits++;
    res.statusCode = failing ? 500 : 200;
    res.end(failing ? 'broken' : 'fine');
  });
  const port = await freePort();
  const e = engine(t, { limits: { breakerCheckPeriodMs: 0, breakerFallbackMs: 1000, breakerRecoveryMs: 200 } });
  const r = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { circuitBreaker: { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.4' } } }]));
  assert.equal(r.ok, true);
  if (r.ok) assert.deepEqual(r.warnings, []);
  const gauge = () => metricValue(e, /^hostmesh_circuit_breaker_open\{destination_namespace="test",destination_service="web",destination_port="80"\}/);
  assert.equal(await gauge(), 0);
  const c = client(t);
  const url = `http://127.0.0.1:${port}/`;
  assert.equal((await get(c, url)).status, 200);

  failing = true;
  assert.equal((await get(c, url)).status, 500, 'this result opens the breaker');
  assert.equal(await gauge(), 1);
  const before = hits;
  let refused = 0;
  let passed = 0;
  for (let i = 0; i < 20; i++) {
    const reply = await get(c, url, { method: 'GET', headers: { accept: 'application/json' } });
    if (reply.status === 503 && reply.body.includes('circuit breaker is open')) refused++;
    else passed++;
  }
  assert.ok(refused >= 1);
  assert.equal(hits - before, passed, 'refused requests never reached the backend');

  failing = false;
  const end = Date.now() + 10_000;
  while ((await gauge()) !== 0 || (await get(c, url)).status !== 200) {
    assert.ok(Date.now() < end, 'the breaker closes again');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.equal((await get(c, url)).body, 'fine');
});
