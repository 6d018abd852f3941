/**
 * The controller's live figures: reports from several proxies summed over a sliding minute,
 * quantiles from latency buckets, tap sessions, and the report and tap-query parsers (fast-check:
 * anything in, a checked value or a coded error out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTapQuery } from '../../src/controller/live/api.ts';
import { LiveHub, quantileMs } from '../../src/controller/live/hub.ts';
import { parseReport } from '../../src/controller/live/report.ts';
import type { ProxyReport, TapEvent } from '../../src/table/live.ts';
import { tapTargetMatches } from '../../src/table/live.ts';

const BOUNDS = [0.001, 0.01, 0.1];

function report(node: string, stats: [string, string, number, number, number[]][], tap: TapEvent[] = []): ProxyReport {
  return {
    node,
    software: '0.1.0',
    ready: true,
    bounds: BOUNDS,
    stats: stats.map(([route, backend, requests, failures, buckets]) => ({ route, backends: [{ backend, requests, failures, buckets }] })),
    tap,
    tapDropped: 0,
  };
}

test('quantiles interpolate inside the bucket, as histogram_quantile does', () => {
  const h: [number, number][] = [[0.001, 0], [0.01, 10], [0.1, 10], [Infinity, 0]];
  assert.ok(Math.abs(quantileMs(h, 0.5)! - 10) < 1e-9);
  assert.ok(Math.abs(quantileMs(h, 0.25)! - 5.5) < 1e-9);
  assert.ok(Math.abs(quantileMs(h, 0.99)! - 98.2) < 1e-9);
  assert.equal(quantileMs([[0.1, 0], [Infinity, 5]], 0.5), 100, 'in +Inf: the largest finite bound');
  assert.equal(quantileMs([[0.1, 0]], 0.5), null);
});

test('the hub sums proxies over the last minute: rate, success, shares, quantiles', () => {
  let now = 1_000_000;
  const hub = new LiveHub({ now: () => now });
  now += 60_000;
  hub.report(report('a', [['ns/web:80', 'web-v1', 30, 3, [0, 30, 0, 0]], ['ns/web:80', 'web-v2', 10, 0, [0, 0, 10, 0]]]));
  hub.report(report('b', [['ns/web:80', 'web-v1', 30, 0, [0, 30, 0, 0]]]));
  let s = hub.stats();
  assert.equal(s.windowSeconds, 60);
  const web = s.routes[0]!;
  assert.equal(web.route, 'ns/web:80');
  assert.equal(web.requests, 70);
  assert.equal(web.ratePerSecond, 70 / 60);
  assert.equal(web.successRate, 1 - 3 / 70);
  assert.deepEqual(web.backends.map((b) => [b.backend, b.requests, b.share]), [['web-v1', 60, 60 / 70], ['web-v2', 10, 10 / 70]]);
  assert.equal(web.backends[0]!.successRate, 0.95);
  assert.ok(web.p50Ms! > 1 && web.p50Ms! <= 10);
  assert.ok(web.p99Ms! > 10 && web.p99Ms! <= 100);
  assert.deepEqual(s.proxies.map((p) => p.node), ['a', 'b']);
  // A minute later the figures are gone; the proxies stay listed until forgotten.
  now += 60_001;
  s = hub.stats();
  assert.deepEqual(s.routes, []);
  assert.equal(s.proxies.length, 2);
  now += 600_000;
  assert.equal(hub.stats().proxies.length, 0);
});

test('tap sessions: subscriptions in every answer, events routed by id, faster reports while tapping, a cap', () => {
  const hub = new LiveHub({ reportMs: 5000, tapReportMs: 500, maxTaps: 2 });
  assert.deepEqual(hub.answer(), { taps: [], nextReportMs: 5000 });
  const got: TapEvent[] = [];
  const a = hub.tap({ target: 'ns/web', path: '/x', method: 'GET', code: 200 }, (e) => got.push(e));
  const b = hub.tap({ target: 'ns/api:8080', sample: 0.5, maxPerSecond: 5 }, () => {
    throw new Error('a broken writer');
  });
  assert.throws(() => hub.tap({ target: 'ns/x' }, () => {}), { code: 'TAP_LIMIT' });
  const answer = hub.answer();
  assert.equal(answer.nextReportMs, 500);
  assert.deepEqual(answer.taps.map((s) => [s.target, s.path, s.method, s.code, s.sample, s.maxPerSecond]), [['ns/web', '/x', 'GET', 200, 1, 100], ['ns/api:8080', undefined, undefined, undefined, 0.5, 5]]);
  const event: TapEvent = { taps: [a.id, b.id, 'gone'], node: 'n', route: 'ns/web:80', time: '', method: 'GET', path: '/x', status: 200, latencyMs: 1, backend: 'web', endpoint: '', client: '' };
  hub.report(report('n', [], [event]));
  assert.equal(got.length, 1);
  a.close();
  a.close();
  b.close();
  assert.deepEqual(hub.answer(), { taps: [], nextReportMs: 5000 });
});

test('tap targets: a Service matches each of its ports, a port only itself', () => {
  assert.ok(tapTargetMatches('ns/web', 'ns/web:80'));
  assert.ok(tapTargetMatches('ns/web:80', 'ns/web:80'));
  assert.ok(!tapTargetMatches('ns/web', 'ns/web-v2:80'));
  assert.ok(!tapTargetMatches('ns/web:80', 'ns/web:8080'));
  assert.ok(!tapTargetMatches('ns/we', 'ns/web:80'));
});

test('parseReport checks every field and names the one that is wrong', () => {
  const good = report('n', [['ns/web:80', 'web', 2, 1, [1, 1, 0, 0]]]);
  assert.deepEqual(parseReport(JSON.parse(JSON.stringify(good))), good);
  const cases: [unknown, RegExp][] = [
    [null, /the body is not an object/],
    [{ ...good, node: '' }, /node is empty/],
    [{ ...good, bounds: [0.1, 0.01] }, /bounds are not increasing/],
    [{ ...good, stats: [{ route: 'r', backends: [{ backend: 'b', requests: -1, failures: 0, buckets: [0, 0, 0, 0] }] }] }, /stats\[0\]\.backends\[0\]\.requests is not a count/],
    [{ ...good, stats: [{ route: 'r', backends: [{ backend: 'b', requests: 1, failures: 0, buckets: [1] }] }] }, /stats\[0\]\.backends\[0\]\.buckets has 1 entries for 4 bounds/],
    [{ ...good, tap: [{}] }, /tap\[0\]\.taps is not a list/],
  ];
  for (const [input, message] of cases) assert.throws(() => parseReport(input), (e: Error & { code?: string }) => e.code === 'BAD_REPORT' && message.test(e.message));
  // Failures never exceed requests.
  assert.equal(parseReport({ ...good, stats: [{ route: 'r', backends: [{ backend: 'b', requests: 1, failures: 9, buckets: [1, 0, 0, 0] }] }] }).stats[0]!.backends[0]!.failures, 1);
});

test('parseReport and parseTapQuery never throw anything but their coded errors', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    try {
      parseReport(v);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'BAD_REPORT');
    }
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.string(), fc.dictionary(fc.constantFrom('route', 'path', 'method', 'code', 'sample', 'rate'), fc.string()), (raw, params) => {
    for (const search of [raw, new URLSearchParams(params).toString()]) {
      try {
        const q = parseTapQuery(search);
        assert.ok(q.target.includes('/'));
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'BAD_TAP');
      }
    }
  }), { numRuns: 300 });
});

test('the hub keeps at most maxEntries report entries, the newest', () => {
  let now = 0;
  const hub = new LiveHub({ now: () => now, maxEntries: 3 });
  for (let i = 1; i <= 2000; i++) {
    now += 10;
    hub.report(report('a', [['ns/web:80', 'web', i, 0, [i, 0, 0, 0]]]));
  }
  assert.equal(hub.stats().routes[0]!.requests, 1998 + 1999 + 2000);
  // All of them age out of the window.
  now += 60_001;
  assert.deepEqual(hub.stats().routes, []);
});
