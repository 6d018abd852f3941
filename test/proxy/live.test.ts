/**
 * The proxy's side of live stats and tap: counts read from the metric cells, reports as deltas
 * (a reset starts over), taps installed only on matching routes and removed when nobody taps,
 * filters, the per-second cap and sampling; a worker pool sums its threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportBuilder } from '../../src/proxy/live/report.ts';
import { DURATION_BUCKETS } from '../../src/proxy/metrics.ts';
import { WorkerPool } from '../../src/proxy/workers/pool.ts';
import type { TapSubscription } from '../../src/table/live.ts';
import { client, engine, freePort, get, httpBackend, svc, table } from './helpers.ts';

const sub = (id: string, target: string, extra: Partial<TapSubscription> = {}): TapSubscription => ({ id, target, sample: 1, maxPerSecond: 100, ...extra });

test('counts, taps on matching routes only, filters, the cap, and no tap once nobody taps', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    req.resume();
    res.statusCode = req.url?.startsWith('/boom') ? 500 : 200;
    res.end('x');
  });
  const e = engine(t);
  const [pa, pb] = [await freePort(), await freePort()];
  const r = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: pa }, { cluster: svc('api', [b.port]), listenPort: pb }]));
  assert.ok(r.ok);
  const agent = client(t);

  // Nobody taps: no route carries a tap.
  let sample = await e.live([]);
  assert.ok([...e.metrics.entries()].every(([, s]) => s.tap === undefined));
  assert.deepEqual(sample.tap, []);

  sample = await e.live([sub('a', 'test/web', { method: 'GET', code: 500 }), sub('b', 'test/web:80', { path: '/ok', maxPerSecond: 2 })]);
  // Plain routes are built on their first request, and get the taps that match them then
  // (the first request included: /boom below is web's first).
  assert.deepEqual([...e.metrics.entries()], []);
  const tapped = (): string[] => [...e.metrics.entries()].filter(([, s]) => s.tap !== undefined).map(([id]) => id);
  for (const path of ['/boom', '/ok/1', '/ok/2', '/ok/3', '/ok/4', '/other']) assert.ok((await get(agent, `http://127.0.0.1:${pa}${path}?q=secret`)).status > 0);
  await get(agent, `http://127.0.0.1:${pb}/boom`);
  await get(agent, `http://127.0.0.1:${pa}/boom`, { method: 'POST', body: 'x' });
  assert.deepEqual(tapped(), ['test/web:80']);
  sample = await e.live([sub('a', 'test/web', { method: 'GET', code: 500 }), sub('b', 'test/web:80', { path: '/ok', maxPerSecond: 2 })]);
  // The cap lets 2 of the 4 /ok requests through within a second (or all 4 across a second boundary, rarely).
  const byTap = (id: string): string[] => sample.tap.filter((x) => x.taps.includes(id)).map((x) => x.path);
  assert.deepEqual(byTap('a'), ['/boom'], JSON.stringify(sample.tap));
  const ok = byTap('b');
  assert.ok(ok.length >= 2 && ok.every((p) => p.startsWith('/ok/')), ok.join());
  assert.equal(sample.tapDropped, 4 - ok.length);
  const boom = sample.tap.find((x) => x.path === '/boom')!;
  assert.equal(boom.status, 500);
  assert.equal(boom.backend, 'web');
  assert.equal(boom.endpoint, `127.0.0.1:${b.port}`);
  assert.equal(boom.route, 'test/web:80');

  const web = sample.counts.find((c) => c.route === 'test/web:80')!.backends[0]!;
  assert.equal(web.requests, 7);
  assert.equal(web.failures, 2);
  assert.equal(web.buckets.length, DURATION_BUCKETS.length + 1);
  assert.equal(web.buckets.reduce((n, x) => n + x, 0), 7);

  // Sampling: a share of 0.000001 lets (almost surely) nothing through.
  await e.live([sub('c', 'test/web', { sample: 0.000001 })]);
  for (let i = 0; i < 20; i++) await get(agent, `http://127.0.0.1:${pa}/s`);
  assert.ok((await e.live([sub('c', 'test/web', { sample: 0.000001 })])).tap.length <= 1);

  // Nobody taps any more: the taps are gone, buffered events with them.
  await e.live([]);
  assert.ok([...e.metrics.entries()].every(([, s]) => s.tap === undefined));
});

test('reports carry deltas; a count that went down starts over; idle routes are left out', () => {
  let ready = false;
  const builder = new ReportBuilder({ node: 'n1', software: '1.2.3', ready: () => ready });
  const buckets = (n: number): number[] => [n, ...Array.from({ length: DURATION_BUCKETS.length }, () => 0)];
  const counts = (web: number, api: number) => [
    { route: 'ns/web:80', backends: [{ backend: 'web', requests: web, failures: Math.floor(web / 2), buckets: buckets(web) }] },
    { route: 'ns/api:80', backends: [{ backend: 'api', requests: api, failures: 0, buckets: buckets(api) }] },
  ];
  let r = builder.build({ counts: counts(10, 0), tap: [], tapDropped: 0 });
  assert.deepEqual(r.stats.map((s) => [s.route, s.backends[0]!.requests, s.backends[0]!.failures]), [['ns/web:80', 10, 5]]);
  assert.equal(r.ready, false);
  assert.equal(r.software, '1.2.3');
  assert.deepEqual(r.bounds, [...DURATION_BUCKETS]);
  ready = true;
  r = builder.build({ counts: counts(14, 3), tap: [{ taps: ['x'], node: '', route: 'ns/web:80', time: '', method: 'GET', path: '/', status: 200, latencyMs: 1, backend: 'web', endpoint: '', client: '' }], tapDropped: 2 });
  assert.deepEqual(r.stats.map((s) => [s.route, s.backends[0]!.requests, s.backends[0]!.failures, s.backends[0]!.buckets[0]]), [['ns/web:80', 4, 2, 4], ['ns/api:80', 3, 0, 3]]);
  assert.equal(r.tap[0]!.node, 'n1');
  assert.equal(r.tapDropped, 2);
  assert.ok(r.ready);
  r = builder.build({ counts: counts(2, 3), tap: [], tapDropped: 0 });
  assert.deepEqual(r.stats.map((s) => [s.route, s.backends[0]!.requests]), [['ns/web:80', 2]]);
});

test('a worker pool sums its threads\' counts and taps every thread', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    req.resume();
    res.end('x');
  });
  const pool = await WorkerPool.start({ workers: 2, host: '127.0.0.1', processMetrics: false, limits: { drainTimeoutMs: 2000 } });
  t.after(() => pool.close());
  const port = await freePort();
  assert.ok((await pool.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }]))).ok);
  const taps = [sub('a', 'test/web')];
  await pool.live(taps);
  // New connections: the kernel spreads them over both threads.
  for (let i = 0; i < 30; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/p${i}`, { headers: { connection: 'close' } })).status, 200);
  const sample = await pool.live(taps);
  assert.equal(sample.counts.find((c) => c.route === 'test/web:80')?.backends[0]?.requests, 30);
  assert.equal(sample.tap.length, 30);
  assert.equal(new Set(sample.tap.map((e) => e.path)).size, 30);
});
