/**
 * The controller's informers through a cut watch (resumed from its resourceVersion) and a
 * 410 Gone (history compacted: relisted), with changes made while the watches were down. No
 * update may be lost, deletions included, and the result must be on every proxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { backendSlice, get, startMesh, webService } from './mesh.ts';
import type { Mesh } from './mesh.ts';

function lists(mesh: Mesh): number {
  return mesh.fake.count('list', 'services') + mesh.fake.count('list', 'endpointslices.discovery.k8s.io');
}

test('a cut watch and a 410 Gone relist without losing an update, on every proxy', async (t) => {
  const [v1, v2] = await Promise.all([
    startDemoBackend({ name: 'web', version: 'v1', host: '127.0.0.1', port: 0 }),
    startDemoBackend({ name: 'web', version: 'v2', host: '127.0.0.1', port: 0 }),
  ]);
  t.after(() => Promise.all([v1.close(), v2.close()]));
  const mesh = await startMesh(t);
  const { fake } = mesh;
  fake.create('services', webService('shop', 'web'));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-a', v1.port));
  await mesh.everyProxy('web', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints.length === 1));
  await mesh.converged();

  // Cut: the changes happen before any watch can reconnect (same tick); the watches resume from
  // their resourceVersion and replay them, without a relist.
  const listed = lists(mesh);
  assert.ok(fake.cutWatches() >= 2, 'the informers were watching');
  fake.patch('endpointslices', 'web-a', 'shop', { ports: [{ name: 'http', port: v2.port, protocol: 'TCP' }] });
  fake.create('services', webService('shop', 'api'));
  fake.create('endpointslices', backendSlice('shop', 'api', 'api-a', v1.port));
  await mesh.everyProxy('the changes made during the cut', (tb) => tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints[0]?.port === v2.port)
    && tb.clusters.some((c) => c.id === 'shop/api:80' && c.endpoints.length === 1));
  await mesh.converged();
  assert.equal(lists(mesh), listed, 'resumed, not relisted');
  assert.equal((await get(mesh.url('shop/web:80', '/cut'))).body, 'web v2: GET /cut\n');

  // 410: the history the watches would resume from is gone; the informers relist, and the
  // deletions made meanwhile (which a relist only sees as absences) are not lost.
  fake.cutWatches();
  fake.delete('endpointslices', 'api-a', 'shop');
  fake.delete('services', 'api', 'shop');
  fake.patch('endpointslices', 'web-a', 'shop', { ports: [{ name: 'http', port: v1.port, protocol: 'TCP' }] });
  fake.compact();
  await mesh.everyProxy('the changes made before the 410', (tb) => !tb.routes.some((r) => r.id === 'shop/api:80')
    && tb.clusters.some((c) => c.id === 'shop/web:80' && c.endpoints[0]?.port === v1.port));
  const status = await mesh.converged();
  assert.ok(lists(mesh) > listed, 'relisted after the 410');
  assert.deepEqual(status.proxies.map((p) => [p.node, p.appliedVersion, p.lagVersions]), mesh.proxies.map((p) => [p.node, status.version, 0]));
  for (const p of mesh.proxies) assert.deepEqual((await p.routes()).map((r) => r.route), ['shop/web:80'], p.node);
  assert.equal((await get(mesh.url('shop/web:80', '/gone'))).body, 'web v1: GET /gone\n');

  // And the informers are watching again: a later change still arrives.
  fake.create('services', webService('shop', 'late'));
  await mesh.everyProxy('a change after the relist', (tb) => tb.routes.some((r) => r.id === 'shop/late:80'));
});
