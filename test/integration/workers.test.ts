/**
 * Worker threads through `hostmesh standalone --workers N` with real backends: one limit
 * across workers, crash and restart, metrics summed in one scrape, UDP per worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { WorkerPool } from '../../src/proxy/workers/pool.ts';
import type { WorkerMetrics } from '../../src/proxy/workers/protocol.ts';
import { parseHead, rawExchange } from '../proxy/helpers.ts';
import { udpBackend, udpSocket, udpExchange } from '../proxy/l4-fixtures.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { until } from '../support/until.ts';

async function metric(admin: string, re: RegExp): Promise<number | undefined> {
  const line = (await (await fetch(`${admin}/metrics`)).text()).split('\n').find((l) => re.test(l));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** One request on its own connection (the kernel picks the worker); a chunked body is decoded. */
async function once(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = parseHead(await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
  if (r.headers.get('transfer-encoding') !== 'chunked') return { status: r.status, body: r.body };
  let body = '';
  for (let at = 0; ;) {
    const eol = r.body.indexOf('\r\n', at);
    const size = Number.parseInt(r.body.slice(at, eol), 16);
    if (!(size > 0)) break;
    body += r.body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return { status: r.status, body };
}

function requestsOf(m: WorkerMetrics | undefined): number {
  return m?.find((x) => x.name === 'hostmesh_requests_total')?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}


test('4 workers, burst 10, 200 concurrent requests on 200 connections: 10 pass, the rest get 429', async (t) => {
  const web = await startDemoBackend({ name: 'web', version: 'v1' });
  t.after(() => web.close());
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [web.port], annotations: { 'hostmesh.io/rate-limit-rate': '1r/m', 'hostmesh.io/rate-limit-burst': '10' } }),
  }, { workers: 4, limits: { drainTimeoutMs: 1000 } });
  assert.ok(mesh.mesh.engine instanceof WorkerPool);
  const port = mesh.port('test/web:80');
  const replies = await Promise.all(Array.from({ length: 200 }, () => once(port)));
  const ok = replies.filter((r) => r.status === 200).length;
  const limited = replies.filter((r) => r.status === 429).length;
  // At 1 r/m nothing refills during the test: the one limit is exact across the workers.
  assert.equal(ok, 10, `admitted ${ok}`);
  assert.equal(limited, 190);
  const perWorker = (await mesh.mesh.engine.workerMetrics()).map(requestsOf);
  assert.ok(perWorker.filter((n) => n > 0).length >= 2, `requests reached several workers: ${perWorker.join(', ')}`);
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limited_total\{/), 190, 'summed over the workers');
  assert.equal(await metric(mesh.admin, /^hostmesh_requests_total\{.*code="200"/), 10);
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limit_keys\{/), 1, 'one shared zone, not one per worker');
});

test('a crashed worker is replaced and gets the current table; serving goes on; one scrape sums all workers', async (t) => {
  const v1 = await startDemoBackend({ name: 'web', version: 'v1' });
  const v2 = await startDemoBackend({ name: 'web', version: 'v2' });
  t.after(() => Promise.all([v1.close(), v2.close()]));
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [v1.port] }) }, { workers: 2, limits: { drainTimeoutMs: 1000 } });
  const pool = mesh.mesh.engine as WorkerPool;
  const port = mesh.port('test/web:80');
  for (let i = 0; i < 50; i++) assert.deepEqual(await once(port, '/a'), { status: 200, body: 'web v1: GET /a\n' });
  const perWorker = (await pool.workerMetrics()).map(requestsOf);
  assert.ok(perWorker.every((n) => n > 0), `both workers served: ${perWorker.join(', ')}`);
  assert.equal(await metric(mesh.admin, /^hostmesh_requests_total\{.*code="200"/), 50, 'one scrape sums both workers');

  const before = pool.threadIds();
  pool.crashWorker(1);
  await until('the crash to be counted', async () => (await metric(mesh.admin, /^hostmesh_worker_restarts_total\{reason="crash"\}/)) === 1, 20_000);
  // The other worker serves meanwhile.
  for (let i = 0; i < 20; i++) assert.equal((await once(port, '/b')).status, 200);
  await until('the replacement to serve', () => pool.threadIds()[1] !== before[1], 20_000);
  assert.equal(await metric(mesh.admin, /^hostmesh_workers /), 2);
  for (let i = 0; i < 50; i++) assert.equal((await once(port, '/c')).status, 200);
  const fresh = (await pool.workerMetrics())[1];
  assert.ok(requestsOf(fresh) > 0, 'the replacement serves the current table');
  assert.ok((await metric(mesh.admin, /^hostmesh_requests_total\{.*code="200"/))! >= 100, 'counts of the crashed worker are kept (up to its last scrape)');

  // A live edit reaches every worker, the replacement included.
  await mesh.write('web.yaml', service('web', { ports: [v2.port] }));
  const bodies = new Set<string>();
  for (let i = 0; i < 40; i++) bodies.add((await once(port, '/d')).body);
  assert.deepEqual([...bodies], ['web v2: GET /d\n']);
  assert.equal(await metric(mesh.admin, /^hostmesh_config_version /), mesh.mesh.engine.current?.table.version);
});

test('UDP with workers: each flow stays on one worker socket; DNS stays in the main thread', async (t) => {
  const echo = await udpBackend(t, (msg) => Buffer.concat([Buffer.from('echo:'), msg]));
  const dnsPort = await new Promise<number>((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const mesh = await withStandalone(t, { 'dns.yaml': service('udpecho', { ports: [echo.port], protocol: 'UDP' }) }, { workers: 2, dns: { host: '127.0.0.1', port: dnsPort }, limits: { drainTimeoutMs: 500 } });
  const port = mesh.port('test/udpecho:80');
  for (let c = 0; c < 6; c++) {
    const client = await udpSocket(t);
    for (let i = 0; i < 3; i++) assert.equal((await udpExchange(client, port, `c${c}-${i}`)).toString(), `echo:c${c}-${i}`);
  }
  assert.equal(echo.sources.size, 6, 'one backend session per client flow: no flow was split across workers');
  assert.ok(mesh.mesh.dns !== undefined, 'the DNS responder runs beside the pool, in the main thread');
});
