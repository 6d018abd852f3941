/**
 * The worker pool on its own: fan-out applies, a stuck worker replaced during an apply, a
 * crashed worker replaced with the current table, metrics summed across workers (and kept
 * across a restart), draining on close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { availableParallelism } from 'node:os';
import { createLogger } from '../../src/common/log.ts';
import { ProxyEngine } from '../../src/proxy/engine.ts';
import { createProxyHost, resolveWorkers } from '../../src/proxy/workers/host.ts';
import { WorkerPool } from '../../src/proxy/workers/pool.ts';
import type { WorkerPoolOptions } from '../../src/proxy/workers/pool.ts';
import { RetiredCounts } from '../../src/proxy/workers/retired.ts';
import type { WorkerMetrics } from '../../src/proxy/workers/protocol.ts';
import { freePort, httpBackend, parseHead, rawExchange, svc, table } from './helpers.ts';
import { until } from '../support/until.ts';
import { ResourceTracker, tableDigest } from '../../src/table/index.ts';

async function pool(t: TestContext, opts: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
  const p = await WorkerPool.start({ workers: 2, processMetrics: false, log: createLogger('test', process.env.HOSTMESH_LOG_LEVEL ?? 'silent'), limits: { drainTimeoutMs: 2000 }, ...opts });
  t.after(() => p.close());
  return p;
}

/** One request on a new connection (so the kernel picks a worker each time). */
async function status(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = parseHead(await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
  return { status: r.status, body: r.body };
}

function value(text: string, re: RegExp): number | undefined {
  const line = text.split('\n').find((l) => re.test(l));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** hostmesh_requests_total of one worker's metrics JSON, all series summed. */
function requestsOf(m: WorkerMetrics | undefined): number {
  const metric = m?.find((x) => x.name === 'hostmesh_requests_total');
  return metric === undefined ? 0 : metric.values.reduce((n, v) => n + v.value, 0);
}


test('a pool applies a table on every worker, serves it from all of them and sums their metrics', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const p = await pool(t, { workers: 3 });
  assert.equal(p.ready, false);
  const port = await freePort();
  const r = await p.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }]));
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.opened, [port]);
  assert.equal(p.ready, true);
  assert.equal(p.current?.table.version, 1);
  assert.deepEqual(p.routes().map((x) => [x.route, x.listen, x.endpoints]), [['test/web:80', `127.0.0.1:${port}`, 1]]);
  for (let i = 0; i < 60; i++) assert.equal((await status(port)).status, 200);
  const perWorker = (await p.workerMetrics()).map(requestsOf);
  assert.equal(perWorker.reduce((a, n) => a + n, 0), 60);
  assert.ok(perWorker.filter((n) => n > 0).length >= 2, `connections reached several workers: ${perWorker.join(', ')}`);
  const text = await p.scrape();
  assert.equal(value(text, /^hostmesh_requests_total\{.*code="200"/), 60, 'one series, summed over the workers');
  assert.equal(value(text, /^hostmesh_request_duration_seconds_count\{.*code_class="2xx"/), 60);
  assert.equal(value(text, /^hostmesh_config_version /), 1);
  assert.equal(value(text, /^hostmesh_workers /), 3);
  // A table the validator refuses never reaches the workers, and changes nothing.
  const bad = await p.apply({ ...table([{ cluster: svc('web', [b.port]), listenPort: port }], 2), listeners: 'nope' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'TABLE_INVALID');
  assert.equal(p.current?.table.version, 1);
});

test('a worker stuck during an apply is replaced by one that applies the table; the apply succeeds', async (t) => {
  const one = await httpBackend(t, (_req, res) => res.end('one'));
  const two = await httpBackend(t, (_req, res) => res.end('two'));
  const p = await pool(t, { applyTimeoutMs: 1000 });
  const port = await freePort();
  assert.ok((await p.apply(table([{ cluster: svc('web', [one.port]), listenPort: port }], 1))).ok);
  const before = p.threadIds();
  p.stallWorker(1, 3000);
  const r = await p.apply(table([{ cluster: svc('web', [two.port]), listenPort: port }], 2));
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.warnings.join('\n'), /proxy worker 2 failed to apply this table \(worker 2 did not answer apply within 1000 ms\) and was replaced/);
  const after = p.threadIds();
  assert.equal(after[0], before[0]);
  assert.notEqual(after[1], before[1]);
  assert.equal(p.current?.table.version, 2);
  for (let i = 0; i < 30; i++) assert.deepEqual(await status(port), { status: 200, body: 'two' });
  assert.equal(value(await p.scrape(), /^hostmesh_worker_restarts_total\{reason="apply"\}/), 1);
});

test('when every worker refuses a table nothing changes and the refusal is reported', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const p = await pool(t);
  const port = await freePort();
  assert.ok((await p.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 1))).ok);
  // The engine refuses a cookie name that is not an HTTP token (a check the validator leaves to it).
  const r = await p.apply(table([{ cluster: svc('web', [b.port], { loadBalancer: { kind: 'cookie', cookie: 'bad cookie' } }), listenPort: port }], 2));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'TABLE_INVALID');
  assert.equal(p.current?.table.version, 1);
  assert.equal((await status(port)).status, 200);
  assert.equal(value(await p.scrape(), /^hostmesh_worker_restarts_total\{reason="apply"\}/), 0);
});

test('a crashed worker is replaced with the current table; the others serve meanwhile; counts are kept', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const p = await pool(t);
  const port = await freePort();
  assert.ok((await p.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 7))).ok);
  for (let i = 0; i < 40; i++) assert.equal((await status(port)).status, 200);
  const perWorker = (await p.workerMetrics()).map(requestsOf);
  const before = p.threadIds();
  p.crashWorker(0);
  await until('the crash to be noticed', async () => value(await p.scrape(), /^hostmesh_worker_restarts_total\{reason="crash"\}/) === 1, 20_000);
  await until('the replacement', () => p.threadIds()[0] !== before[0], 20_000);
  // Requests right after the replacement: every one answered by a worker with the table.
  for (let i = 0; i < 40; i++) assert.equal((await status(port)).status, 200);
  const [fresh] = await p.workerMetrics();
  const version = fresh?.find((m) => m.name === 'hostmesh_config_version')?.values[0]?.value;
  assert.equal(version, 7, 'the replacement applied the current table');
  const text = await p.scrape();
  assert.equal(value(text, /^hostmesh_requests_total\{.*code="200"/), 80, `the dead worker's ${perWorker[0]} requests still count`);
  assert.equal(value(text, /^hostmesh_workers /), 2);
});

test('close drains: a request in flight on a worker completes', async (t) => {
  const b = await httpBackend(t, (_req, res) => setTimeout(() => res.end('slow'), 300));
  const p = await WorkerPool.start({ workers: 2, processMetrics: false, log: createLogger('test', 'silent'), limits: { drainTimeoutMs: 5000 } });
  const port = await freePort();
  assert.ok((await p.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }]))).ok);
  const inFlight = status(port);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await p.close();
  assert.deepEqual(await inFlight, { status: 200, body: 'slow' });
  assert.equal(p.ready, true);
  const after = await p.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 2));
  assert.equal(!after.ok && after.error.code, 'PROXY_CLOSED');
});

test('retired counts: added to series live workers still expose, forgotten for series that are gone', () => {
  const counter = (values: [string, number][]): WorkerMetrics => [{
    name: 'c_total', help: 'h', type: 'counter', aggregator: 'sum',
    values: values.map(([route, value]) => ({ labels: { route }, value })),
  }] as unknown as WorkerMetrics;
  const gauge = [{ name: 'g', help: 'h', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 5 }] }] as unknown as WorkerMetrics;
  const r = new RetiredCounts();
  r.add([...counter([['a', 3], ['b', 4]]), ...gauge]);
  r.add(counter([['a', 2]]));
  const kept = r.prune([counter([['a', 0]])]);
  assert.deepEqual(kept.map((m) => [m.name, m.values.map((v) => [v.labels, v.value])]), [['c_total', [[{ route: 'a' }, 5]]]]);
  assert.deepEqual(r.prune([]), [], 'nothing live answered: nothing added, nothing forgotten');
  assert.equal(r.prune([counter([['b', 0]])]).length, 0, 'b was forgotten at the first prune, a now');
});

test('createProxyHost: one worker is an engine in this thread; auto is the core count; bad counts are refused', async (t) => {
  const host = await createProxyHost({ workers: 1, processMetrics: false, log: createLogger('test', 'silent') });
  t.after(() => host.close());
  assert.ok(host instanceof ProxyEngine);
  assert.equal(resolveWorkers(undefined).workers, 1);
  assert.equal(resolveWorkers('auto', '/nonexistent-cgroup').workers, availableParallelism(), 'no cgroup limits: one per core');
  assert.throws(() => resolveWorkers(0), { code: 'WORKERS_INVALID' });
  assert.throws(() => resolveWorkers(1.5), { code: 'WORKERS_INVALID' });
});

test('a pool applies a delta on top of its table, refuses a gap, and its workers serve the result', async (t) => {
  const [a, b] = await Promise.all([httpBackend(t, (_req, res) => res.end('a')), httpBackend(t, (_req, res) => res.end('b'))]);
  const p = await pool(t);
  const port = await freePort();
  const v1 = table([{ cluster: svc('web', [a.port]), listenPort: port }], 1);
  assert.ok((await p.apply(v1)).ok);
  const v2 = table([{ cluster: svc('web', [b.port]), listenPort: port }], 2);
  const tracker = new ResourceTracker();
  tracker.update(v1);
  const { changes, digest } = tracker.update(v2);
  const delta = { format: 1, epoch: v1.epoch, base: 1, version: 2, generatedAt: v2.generatedAt, digest, changes };
  const gap = await p.applyDelta({ ...delta, base: 5, version: 6 });
  assert.equal(!gap.ok && gap.error.code, 'DELTA_GAP');
  const before = p.sent;
  const r = await p.applyDelta(JSON.parse(JSON.stringify(delta)));
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(p.sent, { tables: before.tables, deltas: before.deltas + p.size }, 'each worker got the delta, none the whole table');
  assert.equal(p.current?.table.version, 2);
  assert.equal(p.current?.digest, tableDigest(v2));
  for (let i = 0; i < 6; i++) assert.equal((await status(port)).body, 'b');
});

test('a worker that does not serve a delta\'s base refuses it and gets the whole table; every worker serves the result', async (t) => {
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((body) => httpBackend(t, (_req, res) => res.end(body))));
  const p = await pool(t);
  const port = await freePort();
  const v1 = table([{ cluster: svc('web', [a!.port]), listenPort: port }], 1);
  assert.ok((await p.apply(v1)).ok);
  // The second worker alone moves to a table of another lineage: it no longer serves v1, the delta's base.
  assert.ok(await p.applyOnWorker(1, { ...table([{ cluster: svc('web', [c!.port]), listenPort: port }], 7), epoch: 'another-epoch' }));
  const v2 = table([{ cluster: svc('web', [b!.port]), listenPort: port }], 2);
  const tracker = new ResourceTracker();
  tracker.update(v1);
  const { changes, digest } = tracker.update(v2);
  const before = p.sent;
  const threads = p.threadIds();
  const r = await p.applyDelta({ format: 1, epoch: v1.epoch, base: 1, version: 2, generatedAt: v2.generatedAt, digest, changes });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(p.sent, { tables: before.tables + 1, deltas: before.deltas + p.size }, 'every worker was offered the delta; the one that refused it got the whole table');
  // Not replaced as a failed worker would be: the same threads, and nothing to warn about.
  assert.deepEqual(p.threadIds(), threads);
  assert.deepEqual(r.warnings, []);
  assert.equal(p.current?.digest, tableDigest(v2));
  // New connections spread over both workers: none answers from the other lineage's backend.
  const bodies = new Set<string>();
  for (let i = 0; i < 16; i++) bodies.add((await status(port)).body);
  assert.deepEqual([...bodies], ['b']);
});
