/**
 * The conformance harness itself, on today's mesh: the base manifests load without a
 * diagnostic, every echo pod answers as itself, clients reach the mesh from their pod IP (the
 * proxy's X-Forwarded-For shows it, which consumer routes depend on), a pod IP is reached
 * outside the mesh, gRPC goes through the grpc port, and MeshBasic passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSUMER_NS, startConformanceMesh } from './support/mesh.ts';
import { MeshBasic } from './cases/basic.ts';

test('conformance harness: pods, client source addresses, pod IPs, gRPC, and MeshBasic', { timeout: 60_000 }, async (t) => {
  const mesh = await startConformanceMesh(t);
  assert.deepEqual(mesh.fixture.mesh.diagnostics().filter((d) => d.severity !== 'info'), []);
  for (const [version, ns, address] of [['v1', undefined, '127.0.0.11'], ['v2', undefined, '127.0.0.12'], ['v1', CONSUMER_NS, '127.0.0.21']] as const) {
    const client = mesh.client(version, ns);
    const r = await client.request({ host: 'echo-v1.gateway-conformance-mesh', path: '/x?y=1' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.echo?.path, '/x?y=1');
    assert.ok(r.echo?.pod.startsWith('echo-v1-'), r.echo?.pod);
    assert.equal(r.echo?.host, 'echo-v1.gateway-conformance-mesh');
    assert.deepEqual(r.echo?.headers['x-forwarded-for'], [address], `the client in ${ns ?? 'the mesh namespace'} sends from ${address}`);
  }
  const direct = await mesh.client('v1').request({ host: '127.0.0.12:8080' });
  assert.equal(direct.echo?.pod.startsWith('echo-v2-'), true);
  assert.equal(direct.echo?.headers['x-forwarded-for'], undefined, 'a pod IP is reached outside the mesh');
  const grpc = await mesh.client('v2').request({ protocol: 'grpc', host: 'echo-v2:7070', headers: { 'x-probe': 'p' } });
  assert.equal(grpc.status, 200, grpc.body);
  assert.deepEqual(grpc.echo?.headers['x-probe'], ['p']);
  assert.ok(grpc.echo?.pod.startsWith('echo-v2-'));
  await t.test('MeshBasic', (st) => MeshBasic.run(mesh, st));
});
