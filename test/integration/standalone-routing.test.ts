/**
 * Routing through `hostmesh standalone` (manifest files in, traffic through the listener ports
 * out): one listener per Service port, live annotation and endpoint changes, passive health.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { client, freePort, get, httpBackend, namedBackend } from '../proxy/helpers.ts';
import { eventually } from '../proxy/l4-fixtures.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { applied, metricSum, routeLines, serviceYaml } from './standalone-support.ts';

test('each Service port gets its own listener, and the port alone picks the destination', async (t) => {
  const [web, api, other] = await Promise.all([namedBackend(t, 'shop-web'), namedBackend(t, 'shop-api'), namedBackend(t, 'other')]);
  const mesh = await withStandalone(t, {
    'shop.yaml': serviceYaml('shop', { ports: [{ name: 'web', port: 80, backends: [web.port] }, { name: 'api', port: 8080, backends: [api.port] }] }),
    'other.yaml': service('other', { namespace: 'prod', ports: [other.port] }),
  });
  const lines = await routeLines(mesh);
  assert.equal(lines.length, 3, lines.join('\n'));
  const ports = ['test/shop:80', 'test/shop:8080', 'prod/other:80'].map((route) => {
    const line = lines.find((l) => l.startsWith(`${route} -> `));
    assert.ok(line, `${route} in /v1/routes:\n${lines.join('\n')}`);
    assert.match(line, new RegExp(`^${route} -> 127\\.0\\.0\\.1:${mesh.port(route)} http ${route} endpoints=1$`));
    return mesh.port(route);
  });
  assert.equal(new Set(ports).size, 3, `three distinct listener ports: ${ports}`);

  const c = client(t);
  // Whatever Host the client names, the listener port decides.
  for (const [route, expected] of [['test/shop:80', 'shop-web'], ['test/shop:8080', 'shop-api'], ['prod/other:80', 'other']] as const) {
    const r = await get(c, `${mesh.url(route)}/x`, { method: 'GET', headers: { host: 'other.prod.hostmesh' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, expected, route);
  }
  assert.equal(web.seen.length, 1);
  assert.equal(api.seen.length, 1);
  assert.equal(other.seen[0]!.headers.host, 'other.prod.hostmesh', 'the Host header is passed through unchanged');
  assert.equal(await metricSum(mesh, 'hostmesh_requests_total{', 'destination_service="shop"', 'destination_port="8080"', 'code="200"'), 1);
});

test('a live annotation change applies to new requests; mesh: "false" takes the route away and back', async (t) => {
  // /slow answers after 600 ms: fine without a read timeout, too slow for a 100 ms one.
  const b = await httpBackend(t, (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow answer'), 600).unref();
    else res.end('fast');
  });
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [b.port] }) });
  const c = client(t);
  const before = await get(c, `${mesh.url('test/web:80')}/slow`);
  assert.equal(before.status, 200);
  assert.equal(before.body, 'slow answer');
  assert.equal(applied(mesh, 'test/web:80').cluster?.readTimeoutMs, undefined);

  await mesh.write('web.yaml', service('web', { ports: [b.port], annotations: { 'hostmesh.io/read-timeout': '100ms' } }));
  assert.equal(applied(mesh, 'test/web:80').cluster?.readTimeoutMs, 100);
  const after = await get(c, `${mesh.url('test/web:80')}/slow`);
  assert.equal(after.status, 504);
  assert.match(after.body, /test\/web:80 did not answer in time/);
  assert.equal((await get(c, `${mesh.url('test/web:80')}/fast`)).body, 'fast');

  const port = mesh.port('test/web:80');
  await mesh.write('web.yaml', service('web', { ports: [b.port], annotations: { 'hostmesh.io/mesh': 'false' } }));
  assert.deepEqual(await routeLines(mesh), []);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/fast`), 'the listener is closed once the Service leaves the mesh');

  await mesh.write('web.yaml', service('web', { ports: [b.port] }));
  const back = await get(c, `${mesh.url('test/web:80')}/slow`);
  assert.equal(back.status, 200, 'back in the mesh with the defaults: no read timeout');
});

test('an endpoint removed from the EndpointSlices gets no more requests', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const openOnB = new Set<Socket>();
  b.server.on('connection', (s: Socket) => {
    openOnB.add(s);
    s.on('close', () => openOnB.delete(s));
  });
  const annotations = { 'hostmesh.io/load-balancer': 'round-robin' };
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [a.port, b.port], annotations }) });
  const c = client(t);
  const first: string[] = [];
  for (let i = 0; i < 10; i++) first.push((await get(c, mesh.url('test/web:80'))).body);
  assert.deepEqual([first.filter((x) => x === 'a').length, first.filter((x) => x === 'b').length], [5, 5], `round robin over two: ${first}`);

  await mesh.write('web.yaml', service('web', { ports: [a.port], annotations }));
  assert.match((await routeLines(mesh))[0] ?? '', /endpoints=1$/);
  const seenByB = b.seen.length;
  const second: string[] = [];
  for (let i = 0; i < 10; i++) second.push((await get(c, mesh.url('test/web:80'))).body);
  assert.deepEqual(second, Array(10).fill('a'));
  assert.equal(b.seen.length, seenByB);
  // The proxy's idle keep-alive connections to the removed endpoint are closed.
  await eventually(() => openOnB.size === 0, 'no proxy connection left on the removed endpoint');
});

test('a dead endpoint is skipped after one failed dial; max-fails: "0" keeps trying it', async (t) => {
  const live = await namedBackend(t, 'live');
  const dead = await freePort();
  const annotations = { 'hostmesh.io/load-balancer': 'round-robin', 'hostmesh.io/max-fails': '1', 'hostmesh.io/fail-duration': '1m' };
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [dead, live.port], annotations }) });
  assert.deepEqual(applied(mesh, 'test/web:80').cluster?.passiveHealth, { maxFails: 1, failDurationMs: 60_000 });
  const c = client(t);
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await get(c, mesh.url('test/web:80'))).status);
  assert.ok(statuses.filter((s) => s === 502).length <= 1, `at most the first dial fails: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 200).length, 12 - statuses.filter((s) => s === 502).length);
  assert.ok(await metricSum(mesh, 'hostmesh_upstream_connect_errors_total{', 'destination_service="web"') <= 1);

  // Passive health off: round robin keeps sending every other request to the dead endpoint.
  await mesh.write('web.yaml', service('web', { ports: [dead, live.port], annotations: { ...annotations, 'hostmesh.io/max-fails': '0' } }));
  assert.equal(applied(mesh, 'test/web:80').cluster?.passiveHealth.maxFails, 0);
  const off: number[] = [];
  for (let i = 0; i < 10; i++) off.push((await get(c, mesh.url('test/web:80'))).status);
  assert.deepEqual([off.filter((s) => s === 502).length, off.filter((s) => s === 200).length], [5, 5], `${off}`);
});
