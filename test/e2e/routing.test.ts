/**
 * One controller and three proxies against the fake API server with the real client: cluster
 * changes reach every proxy (its applied digest and the traffic it serves), a bad annotation
 * gives one Event and changes nothing, the controller API needs the token, and the status lists
 * every proxy converged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { startDemoBackend } from '../../src/demo/backend.ts';
import type { DemoBackend } from '../../src/demo/backend.ts';
import type { TestContext } from 'node:test';
import { backendSlice, eventually, get, startMesh, TOKEN, webService } from './mesh.ts';
import type { Mesh } from './mesh.ts';

async function backends(t: TestContext, ...specs: [string, string][]): Promise<DemoBackend[]> {
  const started = await Promise.all(specs.map(([name, version]) => startDemoBackend({ name, version, host: '127.0.0.1', port: 0 })));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

/** `n` requests, each on a new connection (so the kernel spreads them over the proxies); their bodies. */
async function bodies(mesh: Mesh, route: string, n = 9): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(mesh.url(route, '/hello'));
    out.push(`${r.status} ${r.body.trim()}`);
  }
  return out;
}

function routeOf(table: { routes: { id: string; backends: { cluster: string; weight: number }[] }[] }, id: string) {
  return table.routes.find((r) => r.id === id);
}

test('Services, annotations, EndpointSlices and deletions change what every proxy serves', async (t) => {
  const [v1, v2, v3] = await backends(t, ['web', 'v1'], ['web-v2', 'v2'], ['web', 'v3']);
  const mesh = await startMesh(t);
  const { fake } = mesh;

  fake.create('services', webService('shop', 'web'));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-a', v1!.port));
  fake.create('services', webService('shop', 'web-v2'));
  fake.create('endpointslices', backendSlice('shop', 'web-v2', 'web-v2-a', v2!.port));
  // Settled: routes, endpoints, and both names in mesh DNS (once the shadows have ClusterIPs).
  await mesh.everyProxy('shop/web:80 with its endpoint, both names', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints.length === 1) && tb.dns.services.length === 2);
  let status = await mesh.converged();
  for (const p of mesh.proxies) {
    assert.equal((await p.config())?.digest, status.digest, `${p.node} serves the controller's table`);
    const routes = await p.routes();
    assert.deepEqual(routes.map((r) => `${r.route} -> ${r.listen} endpoints=${r.endpoints}`).toSorted(), [
      `shop/web-v2:80 -> 127.0.0.1:${mesh.port('shop/web-v2:80')} endpoints=1`,
      `shop/web:80 -> 127.0.0.1:${mesh.port('shop/web:80')} endpoints=1`,
    ]);
  }
  assert.deepEqual(new Set(await bodies(mesh, 'shop/web:80')), new Set(['200 web v1: GET /hello']));
  const webPort = mesh.port('shop/web:80');

  // Annotating the Service splits it: every proxy sends all of it to web-v2; the port stays.
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/traffic-split-weights': 'web=0,web-v2=100' } } });
  await mesh.everyProxy('the split', (tb) => routeOf(tb, 'shop/web:80')?.backends.some((b) => b.cluster === 'shop/web-v2:80' && b.weight === 100) === true);
  status = await mesh.converged();
  assert.equal(mesh.port('shop/web:80'), webPort);
  assert.deepEqual(new Set(await bodies(mesh, 'shop/web:80')), new Set(['200 web-v2 v2: GET /hello']));

  // Removing the annotation and moving the endpoint: the new backend everywhere.
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/traffic-split-weights': null } } });
  fake.patch('endpointslices', 'web-a', 'shop', { ports: [{ name: 'http', port: v3!.port, protocol: 'TCP' }] });
  await mesh.everyProxy('the moved endpoint', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints[0]?.port === v3!.port)
    && routeOf(tb, 'shop/web:80')?.backends.length === 1);
  await mesh.converged();
  assert.deepEqual(new Set(await bodies(mesh, 'shop/web:80')), new Set(['200 web v3: GET /hello']));

  // Each proxy on its own serves it (the others stopped meanwhile).
  for (let i = 0; i < mesh.proxies.length; i++) {
    const answer = await mesh.only(i, async () => get(mesh.url('shop/web:80', '/alone')));
    assert.equal(`${answer.status} ${answer.body.trim()}`, '200 web v3: GET /alone', `proxy ${i + 1} alone`);
  }

  // No endpoints: every proxy answers 503 itself.
  fake.delete('endpointslices', 'web-a', 'shop');
  await mesh.everyProxy('web without endpoints', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints.length === 0));
  const answers = await bodies(mesh, 'shop/web:80', 6);
  assert.ok(answers.every((a) => a.startsWith('503 ')), answers.join('\n'));

  // Deleting the Service removes its route and closes its port on every proxy.
  fake.delete('services', 'web', 'shop');
  await mesh.everyProxy('web gone', (tb) => routeOf(tb, 'shop/web:80') === undefined);
  status = await mesh.converged();
  for (const p of mesh.proxies) assert.deepEqual((await p.routes()).map((r) => r.route), ['shop/web-v2:80'], p.node);
  await assert.rejects(get(`http://127.0.0.1:${webPort}/`), /ECONNREFUSED/);
  assert.deepEqual(status.proxies.map((p) => [p.node, p.connected, p.appliedVersion, p.lagVersions]),
    mesh.proxies.map((p) => [p.node, true, status.version, 0]));
});

test('a bad annotation gives exactly one Event and the proxies keep the old behaviour', async (t) => {
  const [v1, v2] = await backends(t, ['web', 'v1'], ['web-v2', 'v2']);
  const mesh = await startMesh(t);
  const { fake } = mesh;
  fake.create('services', webService('shop', 'web', { 'hostmesh.io/traffic-split-weights': 'web=0,web-v2=100' }));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-a', v1!.port));
  fake.create('services', webService('shop', 'web-v2'));
  fake.create('endpointslices', backendSlice('shop', 'web-v2', 'web-v2-a', v2!.port));
  await mesh.everyProxy('the split', (tb) => routeOf(tb, 'shop/web:80')?.backends.some((b) => b.cluster === 'shop/web-v2:80') === true);
  await mesh.converged();
  const split = JSON.stringify(routeOf((await mesh.proxies[0]!.config())!.table, 'shop/web:80'));

  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/traffic-split-weights': 'web=0,web-v2=lots' } } });
  const events = (): CoreV1Event[] => fake.list<CoreV1Event>('events', 'shop').filter((e) => e.involvedObject.name === 'web');
  await eventually('the Warning Event', async () => events().length > 0);
  const status = await eventually('the diagnostic in /v1/status', async () => {
    const s = await mesh.status();
    return s.diagnostics.some((d) => d.code === 'annotation-invalid' && d.key === 'hostmesh.io/traffic-split-weights') ? s : undefined;
  });
  assert.equal(status.diagnostics.find((d) => d.code === 'annotation-invalid')?.value, 'web=0,web-v2=lots');

  // More translations (an unrelated Service, an endpoint change) do not repeat the Event.
  fake.create('services', webService('shop', 'other'));
  fake.patch('endpointslices', 'web-v2-a', 'shop', { endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }, { addresses: ['127.0.0.2'], conditions: { ready: false } }] });
  await mesh.everyProxy('the unrelated Service', (tb) => routeOf(tb, 'shop/other:80') !== undefined);
  await mesh.converged();
  const list = events();
  assert.equal(list.length, 1, JSON.stringify(list.map((e) => e.message)));
  assert.equal(list[0]!.type, 'Warning');
  assert.equal(list[0]!.reason, 'InvalidAnnotation');
  assert.match(list[0]!.message ?? '', /hostmesh\.io\/traffic-split-weights: "web=0,web-v2=lots"/);

  // Every proxy still has the last valid split, and traffic still goes to web-v2.
  for (const p of mesh.proxies) assert.equal(JSON.stringify(routeOf((await p.config())!.table, 'shop/web:80')), split, p.node);
  assert.deepEqual(new Set(await bodies(mesh, 'shop/web:80')), new Set(['200 web-v2 v2: GET /hello']));
});

test('the controller API needs the token; /v1/status lists the three proxies converged', async (t) => {
  const mesh = await startMesh(t);
  const url = mesh.controllerUrl;
  const bare = await get(`${url}/v1/status`);
  assert.equal(bare.status, 401);
  assert.equal((JSON.parse(bare.body) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
  assert.equal((await get(`${url}/v1/status`, { authorization: 'Bearer not-the-token' })).status, 401);
  assert.equal((await get(`${url}/v1/watch?node=intruder`)).status, 401);
  assert.equal((await get(`${url}/healthz`)).status, 200, 'health needs no token');
  assert.equal((await get(`${url}/readyz`)).status, 200, 'ready once the first table is published');
  const metrics = await get(`${url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /^hostmesh_controller_proxies\{state="connected"\} 3$/m);
  assert.match(metrics.body, /^process_cpu_seconds_total /m, 'process metrics');

  const status = await mesh.status();
  assert.equal(status.proxies.length, 3);
  for (const p of status.proxies) {
    assert.equal(p.connected, true, p.node);
    assert.equal(p.appliedEpoch, status.epoch, p.node);
    assert.equal(p.appliedVersion, status.version, p.node);
    assert.equal(p.lagVersions, 0, p.node);
    assert.equal(p.lagMs, 0, p.node);
    assert.equal(p.error, undefined, p.node);
  }
  assert.deepEqual(status.proxies.map((p) => p.node), ['node-1', 'node-2', 'node-3']);
  // Each proxy reports the same from its side (its admin /v1/status, with the token).
  for (const p of mesh.proxies) {
    const own = await get(`${p.admin}/v1/status`, { authorization: `Bearer ${TOKEN}` });
    const s = JSON.parse(own.body) as { node: string; connected: boolean; applied: { version: number; digest: string; source: string } };
    assert.deepEqual([s.node, s.connected, s.applied.version, s.applied.digest, s.applied.source], [p.node, true, status.version, status.digest, 'controller']);
    assert.equal((await get(`${p.admin}/v1/status`)).status, 401);
  }
});
