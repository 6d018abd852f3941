/**
 * Every query of the Grafana dashboard, evaluated by a real Prometheus (started here on
 * 127.0.0.1 with a temporary directory) that scrapes a standalone mesh's /metrics after bounded
 * traffic over HTTP (with retries, a breaker, a rate limit) and TCP, with span export on: each
 * query must return data, and at least one finite value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { closedPort, readBytes, tcpBackend, tcpClient } from '../proxy/l4-fixtures.ts';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { receiver } from '../support/otlp-receiver.ts';
import { scrapedAfter, startPrometheus } from '../support/prometheus.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { until } from '../support/until.ts';
import { dashboardTargets, examples, skipPrometheus } from './tools.ts';

/** Grafana's variables as "All" and its rate interval, so the query runs as Prometheus text. */
function asPromQL(expr: string): string {
  return expr.replaceAll('$__rate_interval', '30s').replaceAll('$namespace', '.*').replaceAll('$service', '.*');
}

/** `label_values(selector, label)` of a Grafana variable as an instant query. */
function labelValuesQuery(q: string): string {
  const m = /^label_values\((.*),\s*([a-z_]+)\)$/.exec(q);
  assert.ok(m, q);
  return `count by (${m[2]}) (${asPromQL(m[1]!)})`;
}

test('every dashboard query returns data from Prometheus scraping a standalone mesh', { skip: skipPrometheus, timeout: 120_000 }, async (t) => {
  const rx = await receiver(t);
  const web = await httpBackend(t, (req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  const dead = await closedPort();
  const echo = await tcpBackend(t, (s: Socket) => s.pipe(s));
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [dead, web.port], annotations: { 'hostmesh.io/retry-count': '1', 'hostmesh.io/circuit-breaker-expression': 'NetworkErrorRatio() > 0.99', 'hostmesh.io/load-balancer': 'round-robin' } }),
    'api.yaml': service('api', { ports: [web.port], annotations: { 'hostmesh.io/rate-limit-rate': '1r/m', 'hostmesh.io/rate-limit-burst': '2' } }),
    'cache.yaml': service('cache', { port: 6379, ports: [echo.port], annotations: { 'hostmesh.io/traffic-type': 'tcp' } }),
  }, { tracing: { collector: rx.url, sampling: 1, delayMs: 20 } });
  const query = await startPrometheus(t, mesh.admin.slice('http://'.length));
  await until('a first scrape', async () => (await query('up{job="hostmesh"} == 1')).length === 1, 30_000);

  const c = client(t);
  const open: Socket[] = [];
  const traffic = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await get(c, `${mesh.url('test/web:80')}/ok`);
    for (let i = 0; i < 3; i++) await get(c, `${mesh.url('test/web:80')}/fail`);
    for (let i = 0; i < 4; i++) await get(c, `${mesh.url('test/api:80')}/`);
    for (let i = 0; i < 3; i++) {
      const s = await tcpClient(mesh.port('test/cache:6379'));
      s.write('x'.repeat(100));
      await readBytes(s, 100);
      s.end();
      await new Promise((resolve) => s.once('close', resolve));
    }
    const kept = await tcpClient(mesh.port('test/cache:6379'));
    kept.write('held');
    await readBytes(kept, 4);
    open.push(kept);
  };
  t.after(() => { for (const s of open) s.destroy(); });
  // Twice, with scrapes in between: a series that appears with its first observation (a 500's
  // count, the connection duration histogram) has a rate only from its second sample on.
  await traffic();
  await scrapedAfter(query, 'a scrape after the first traffic');
  await traffic();
  await until('the spans to be exported', () => rx.spans.length >= 54, 30_000);
  await scrapedAfter(query, 'a scrape after the second traffic');

  const dashboard = JSON.parse(readFileSync(join(examples, 'hostmesh-dashboard.json'), 'utf8')) as Parameters<typeof dashboardTargets>[0] & { templating: { list: { name: string; type: string; query: unknown }[] } };
  const targets = dashboardTargets(dashboard);
  assert.ok(targets.length >= 20);
  const empty: string[] = [];
  const noValue: string[] = [];
  for (const { panel, expr } of targets) {
    const result = await query(asPromQL(expr));
    if (result.length === 0) empty.push(`${panel}: ${expr}`);
    else if (!result.some((s) => Number.isFinite(Number(s.value[1])))) noValue.push(`${panel}: ${expr} -> ${JSON.stringify(result)}`);
  }
  assert.deepEqual(empty, [], 'queries without data');
  assert.deepEqual(noValue, [], 'queries without a finite value');

  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const q = (v.query as { query: string }).query;
    const values = (await query(labelValuesQuery(q))).map((s) => Object.values(s.metric)[0]);
    assert.ok(values.length > 0, `variable ${v.name}: ${q}`);
    if (v.name === 'service') assert.deepEqual(values.toSorted(), ['api', 'cache', 'web']);
  }

  // The numbers behind a few panels, exactly: bounded traffic, counters never reset.
  const value = async (q: string): Promise<number> => Number((await query(q))[0]?.value[1]);
  assert.equal(await value('sum(hostmesh_requests_total{destination_service="web",code="500"})'), 6);
  assert.equal(await value('sum(hostmesh_rate_limited_total{destination_service="api"})'), 6, 'burst 2 of 8 requests passed');
  assert.equal(await value('sum(hostmesh_connections_opened_total{destination_service="cache"})'), 8);
  assert.equal(await value('sum(hostmesh_connections_active{destination_service="cache"})'), 2);
  assert.equal(await value('sum(hostmesh_connection_received_bytes_total{destination_service="cache"})'), 6 * 100 + 2 * 4);
  assert.equal(await value('max(hostmesh_controller_config_version) - on() group_right() hostmesh_config_version'), 0);
  assert.ok(await value('sum(hostmesh_retries_total{destination_service="web",reason="connect"})') >= 1);
});
