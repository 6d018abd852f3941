import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_BUCKETS, methodIndex, ProxyMetrics } from '../../src/proxy/metrics.ts';
import { client, engine, freePort, get, metricLines, metricValue, namedBackend, svc, table } from './helpers.ts';

test('an idle route has no per-backend series; its first request brings them, from zero', async (t) => {
  const b = await namedBackend(t, 'b');
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }]));
  assert.deepEqual(await metricLines(e, /destination_service="web"/), [], 'no text for a route that carried nothing');
  assert.ok((await metricValue(e, /^hostmesh_config_applied_timestamp_seconds /))! > 1.7e9);

  await get(client(t), `http://127.0.0.1:${port}/`, { method: 'POST' });
  const base = 'destination_namespace="test",destination_service="web",destination_port="80",backend="web"';
  assert.deepEqual((await metricLines(e, /^hostmesh_requests_total/)).toSorted(), [
    `hostmesh_requests_total{${base},code="200",method="GET"} 0`,
    `hostmesh_requests_total{${base},code="200",method="POST"} 1`,
  ]);
  assert.equal(await metricValue(e, new RegExp(`^hostmesh_request_duration_seconds_count\\{${base},code_class="2xx",method="GET"\\}`)), 0);
  assert.equal(await metricValue(e, new RegExp(`^hostmesh_request_duration_seconds_count\\{${base},code_class="5xx",method="GET"\\}`)), undefined, 'only the 2xx histogram is zero-initialised');
  assert.equal(await metricValue(e, new RegExp(`^hostmesh_upstream_connect_errors_total\\{${base}\\}`)), 0);
  for (const old of ['namespace', 'service', 'port']) {
    assert.deepEqual(await metricLines(e, new RegExp(`[{,]${old}="`)), [], `the removed label ${old} is gone`);
  }
});

test('a split route has series for every backend from the first scrape, before any request', async (t) => {
  const b = await namedBackend(t, 'b');
  const e = engine(t);
  const web = svc('web', [b.port]);
  const canary = svc('web-v2', [b.port]);
  await e.apply(table([
    { cluster: web, listenPort: await freePort(), route: { backends: [{ cluster: web.id, weight: 90 }, { cluster: canary.id, weight: 10 }] } },
    { cluster: canary, listenPort: await freePort() },
  ]));
  const base = (backend: string) => `destination_namespace="test",destination_service="web",destination_port="80",backend="${backend}"`;
  assert.deepEqual(await metricLines(e, /^hostmesh_requests_total/), ['web', 'web-v2'].map((n) => `hostmesh_requests_total{${base(n)},code="200",method="GET"} 0`));
  assert.equal((await metricLines(e, /^hostmesh_request_duration_seconds_bucket\{.*code_class="2xx"/)).length, 2 * (DURATION_BUCKETS.length + 1));
  assert.equal(await metricValue(e, new RegExp(`^hostmesh_upstream_connect_errors_total\\{${base('web-v2')}\\}`)), 0);
  assert.deepEqual(await metricLines(e, /destination_service="web-v2"/), [], 'the canary Service\'s own route is idle');
});

test('counts survive re-applies; series of removed routes disappear; methods and codes are bounded', async (t) => {
  const b = await namedBackend(t, 'b');
  const [p1, p2] = [await freePort(), await freePort()];
  const e = engine(t);
  const both = (v: number) => table([{ cluster: svc('web', [b.port]), listenPort: p1 }, { cluster: svc('api', [b.port]), listenPort: p2 }], v);
  await e.apply(both(1));
  const c = client(t);
  await get(c, `http://127.0.0.1:${p1}/`);
  await get(c, `http://127.0.0.1:${p1}/`, { method: 'PURGE' });
  await get(c, `http://127.0.0.1:${p2}/`, { method: 'DELETE' });
  await e.apply(table([{ cluster: svc('web', [b.port, b.port]), listenPort: p1 }, { cluster: svc('api', [b.port]), listenPort: p2 }], 2));
  await get(c, `http://127.0.0.1:${p1}/`);
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{destination_namespace="test",destination_service="web",.*code="200",method="GET"\}/), 2);
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{destination_namespace="test",destination_service="web",.*code="200",method="OTHER"\}/), 1);
  assert.equal(await metricValue(e, /^hostmesh_request_duration_seconds_count\{destination_namespace="test",destination_service="web",.*code_class="2xx",method="GET"\}/), 2);
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{destination_namespace="test",destination_service="api",.*method="DELETE"\}/), 1);

  await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: p1 }], 3));
  assert.deepEqual(await metricLines(e, /destination_service="api"/), []);
  assert.ok((await metricLines(e, /destination_service="web"/)).length > 0);
});

test('histogram buckets are cumulative and methods map to a fixed set', () => {
  const m = new ProxyMetrics();
  const stats = m.route({ id: 'a/b:1', namespace: 'a', service: 'b', port: 1, protocol: 'http' });
  const backend = stats.backend('b');
  m.commit([{ id: 'a/b:1', stats, backends: [backend] }]);
  for (const s of [0.0001, 0.0007, 0.003, 0.2, 99]) backend.record(methodIndex('GET'), 200, s);
  backend.record(methodIndex('WHATEVER'), 503, 0.01);
  return m.registry.metrics().then((text) => {
    const bucket = (le: string) => Number(new RegExp(`code_class="2xx",method="GET",le="${le.replace('+', '\\+')}"\\} (\\d+)`).exec(text)?.[1]);
    assert.deepEqual(['0.0005', '0.001', '0.005', '0.25', '30', '+Inf'].map(bucket), [1, 2, 3, 4, 4, 5]);
    assert.match(text, /code="503",method="OTHER"\} 1/);
    assert.match(text, /code_class="5xx",method="OTHER",le="0\.01"\} 1/);
    assert.equal(methodIndex('get'), methodIndex('OTHER'), 'methods are case-sensitive tokens; lower case is another method');
  });
});
