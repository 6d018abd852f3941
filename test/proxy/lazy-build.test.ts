/**
 * Plain routes and endpoint pools are built on first use (issue 12: 10,000 Services on a node,
 * most of them never called there), without changing what a table apply guarantees: a bad
 * table is refused at apply, routes with policies are built at apply, counters never go back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRuntime } from '../../src/proxy/cluster.ts';
import { client, engine, freePort, get, metricValue, namedBackend, svc, table } from './helpers.ts';

const requests = (route: string): RegExp => new RegExp(`^hostmesh_requests_total\\{destination_namespace="test",destination_service="${route}",.*code="200"`);

test('plain routes and their pools are built by their first request; a route with a policy at apply', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const [pa, pb, pc] = await Promise.all([freePort(), freePort(), freePort()]);
  const e = engine(t);
  const http = client(t);
  const v1 = (version: number, extra: Parameters<typeof table>[0][number]['route'] = {}) => table([
    { cluster: svc('web', [a.port]), listenPort: pa, route: extra },
    { cluster: svc('api', [b.port]), listenPort: pb },
    { cluster: svc('retried', [a.port]), listenPort: pc, route: { retry: { on: 'true', count: 1, codes: [[502, 504]] } } },
  ], version);
  assert.equal((await e.apply(v1(1))).ok, true);
  assert.equal(e.routeBuilt('test/web:80'), false);
  assert.equal(e.routeBuilt('test/api:80'), false);
  assert.equal(e.routeBuilt('test/retried:80'), true, 'a policy that shows series from zero is built at apply');
  assert.deepEqual([...e.metrics.entries()].map(([id]) => id), ['test/retried:80']);
  assert.equal(e.routes().find((r) => r.route === 'test/web:80')?.endpoints, 1, '/v1/routes counts endpoints without building anything');

  assert.equal((await get(http, `http://127.0.0.1:${pa}/`)).body, 'a');
  assert.equal(e.routeBuilt('test/web:80'), true);
  assert.equal(e.routeBuilt('test/api:80'), false, 'only the route that was called');
  const web = e.built('test/web:80')!;
  assert.equal((web.clusters[0] as ClusterRuntime).poolBuilt, true);
  const api = e.built('test/api:80')!;
  assert.equal((api.clusters[0] as ClusterRuntime).poolBuilt, false, 'building a route leaves its pool to the first request');
  assert.equal(await metricValue(e, requests('web')), 1);

  // The same table again: built or not, every route is kept as it is.
  assert.equal((await e.apply(v1(2))).ok, true);
  assert.equal(e.built('test/web:80')!.route, web.route);
  assert.equal(e.built('test/api:80')!.route, api.route);

  // web's entry changes: its new route waits for a request, its counters stay where they were.
  assert.equal((await e.apply(v1(3, { requestTimeoutMs: 5000 }))).ok, true);
  assert.equal(e.routeBuilt('test/web:80'), false);
  assert.equal(await metricValue(e, requests('web')), 1, 'counts never go back');
  assert.equal((await get(http, `http://127.0.0.1:${pa}/`)).body, 'a');
  assert.notEqual(e.built('test/web:80')!.route, web.route);
  assert.equal(e.built('test/web:80')!.clusters[0], web.clusters[0], 'the cluster (and its endpoint state) is kept');
  assert.equal(await metricValue(e, requests('web')), 2);

  // Validation still happens at apply: a bad table changes nothing, built or not.
  const bad = v1(4);
  bad.routes[1]!.backends = [{ cluster: 'test/none:80', weight: 1 }];
  assert.equal((await e.apply(bad)).ok, false);
  assert.equal(e.current?.table.version, 3);
  assert.equal((await get(http, `http://127.0.0.1:${pb}/`)).body, 'b');
});

test('an endpoint change before the first request reaches the pool built later', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const port = await freePort();
  const e = engine(t);
  const http = client(t);
  assert.equal((await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 1))).ok, true);
  assert.equal((await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 2))).ok, true);
  assert.equal((await get(http, `http://127.0.0.1:${port}/`)).body, 'b');
  // And after it, the built pool follows the next change in place.
  const cluster = e.built('test/web:80')!.clusters[0];
  assert.equal((await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 3))).ok, true);
  assert.equal(e.built('test/web:80')!.clusters[0], cluster);
  assert.equal((await get(http, `http://127.0.0.1:${port}/`)).body, 'a');
});
