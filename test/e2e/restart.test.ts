/**
 * Fail static across restarts: the proxies keep serving while the controller is down, a proxy
 * restarted meanwhile serves the table saved in its --state-dir, and a restarted controller
 * (new epoch) keeps every proxy port and route, and publishes what changed while it was away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { backendSlice, get, startMesh, TOKEN, webService } from './mesh.ts';
import type { Mesh } from './mesh.ts';

async function listens(mesh: Mesh): Promise<string[][]> {
  return Promise.all(mesh.running().map(async (p) => (await p.routes()).map((r) => `${r.route} -> ${r.listen}`)));
}

async function body(url: string): Promise<string> {
  const r = await get(url);
  return `${r.status} ${r.body.trim()}`;
}

test('a controller restart keeps ports and routes; proxies serve while it is down, a restarted proxy from its saved table', async (t) => {
  const [v1, v2, api] = await Promise.all([
    startDemoBackend({ name: 'web', version: 'v1', host: '127.0.0.1', port: 0 }),
    startDemoBackend({ name: 'web', version: 'v2', host: '127.0.0.1', port: 0 }),
    startDemoBackend({ name: 'api', version: 'v1', host: '127.0.0.1', port: 0 }),
  ]);
  t.after(() => Promise.all([v1.close(), v2.close(), api.close()]));
  const mesh = await startMesh(t);
  const { fake } = mesh;
  fake.create('services', webService('shop', 'web'));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-a', v1.port));
  fake.create('services', webService('shop', 'api', { 'hostmesh.io/retry-count': '2' }));
  fake.create('endpointslices', backendSlice('shop', 'api', 'api-a', api.port));
  // Complete: both shadows have their ClusterIPs in mesh DNS (a restarted controller reads them back).
  await mesh.everyProxy('both routes and names', (tb) => tb.routes.length === 2 && tb.clusters.every((c) => c.endpoints.length === 1) && tb.dns.services.length === 2);
  const first = await mesh.converged();
  const ports = { web: mesh.port('shop/web:80'), api: mesh.port('shop/api:80') };
  const routesBefore = await listens(mesh);
  const table = JSON.stringify((await mesh.proxies[0]!.config())!.table.routes);

  // 1. A restart with nothing changed: new epoch, same table; proxies adopt it without re-applying.
  await mesh.stopController();
  assert.equal(await body(`http://127.0.0.1:${ports.web}/down`), '200 web v1: GET /down', 'served while the controller is down');
  const restarted = await mesh.startController();
  const second = await mesh.converged();
  assert.notEqual(second.epoch, first.epoch);
  assert.equal(second.digest, first.digest, 'the same routing after a restart');
  assert.deepEqual([mesh.port('shop/web:80'), mesh.port('shop/api:80')], [ports.web, ports.api]);
  assert.deepEqual(await listens(mesh), routesBefore);
  assert.equal(JSON.stringify((await mesh.proxies[0]!.config())!.table.routes), table, 'every route setting kept');
  assert.equal(restarted.publisher.version, 1, 'one version: the restart wrote nothing that retranslated');

  // 2. The controller goes away; the cluster changes; every proxy restarts meanwhile.
  await mesh.stopController();
  fake.patch('endpointslices', 'web-a', 'shop', { ports: [{ name: 'http', port: v2.port, protocol: 'TCP' }] });
  await Promise.all(mesh.proxies.map((p) => p.stop()));
  for (const p of mesh.proxies) {
    // Alone, from its saved table, with no controller to ask.
    await p.start();
    assert.equal((await get(`${p.admin}/readyz`)).status, 200, `${p.node} is ready from its saved table`);
    const own = JSON.parse((await get(`${p.admin}/v1/status`, { authorization: `Bearer ${TOKEN}` })).body) as { connected: boolean; applied: { source: string; digest: string } };
    assert.deepEqual([own.connected, own.applied.source, own.applied.digest], [false, 'saved', first.digest], p.node);
    assert.equal(await body(`http://127.0.0.1:${ports.web}/saved`), '200 web v1: GET /saved', `${p.node} serves its saved table`);
    assert.equal(await body(`http://127.0.0.1:${ports.api}/saved`), '200 api v1: GET /saved', p.node);
    await p.stop();
  }
  await Promise.all(mesh.proxies.map((p) => p.start()));

  // 3. The controller is back: the change made while it was down reaches every proxy, on the same ports.
  await mesh.startController();
  await mesh.everyProxy('the endpoint moved while the controller was down', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints[0]?.port === v2.port));
  const third = await mesh.converged();
  assert.deepEqual(third.proxies.map((p) => [p.node, p.connected, p.lagVersions]), [['node-1', true, 0], ['node-2', true, 0], ['node-3', true, 0]]);
  assert.deepEqual([mesh.port('shop/web:80'), mesh.port('shop/api:80')], [ports.web, ports.api]);
  assert.deepEqual(await listens(mesh), routesBefore);
  assert.equal(await body(`http://127.0.0.1:${ports.web}/back`), '200 web v2: GET /back');
});
