/**
 * Every proxy's DNS responder answers the mesh names from the table it applied: the shadow
 * Service's ClusterIP for `<svc>.<ns>.hostmesh`, NXDOMAIN for unknown mesh names, REFUSED for
 * anything outside the mesh zones; and it follows the tables (a deleted Service goes away).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceObject } from '../../src/controller/objects.ts';
import { SHADOW_OF_ANNOTATION } from '../../src/controller/constants.ts';
import { dnsQuery, eventually, MESH_NAMESPACE, startMesh, webService } from './mesh.ts';

test('each proxy answers mesh names with the shadow ClusterIP and refuses other names', async (t) => {
  const mesh = await startMesh(t);
  const { fake } = mesh;
  fake.create('services', webService('shop', 'web'));
  const shadow = await eventually('the shadow Service with its ClusterIP', async () =>
    fake.list<ServiceObject>('services', MESH_NAMESPACE).find((s) => s.metadata.annotations?.[SHADOW_OF_ANNOTATION] === 'shop/web' && s.spec?.clusterIP));
  const clusterIP = shadow.spec!.clusterIP!;
  await mesh.everyProxy('the name in mesh DNS', (tb) => tb.dns.services.some((s) => s.name === 'web' && s.addresses[0] === clusterIP));
  await mesh.converged();

  for (const p of mesh.proxies) {
    const a = await dnsQuery(p.dnsPort, 'web.shop.hostmesh');
    assert.equal(a.rcode, 'NOERROR', p.node);
    assert.deepEqual(a.answers?.map((r) => [r.name, r.type, r.type === 'A' ? r.data : undefined]), [['web.shop.hostmesh', 'A', clusterIP]], p.node);
    const srv = await dnsQuery(p.dnsPort, '_http._tcp.web.shop.hostmesh', 'SRV');
    assert.deepEqual(srv.answers?.map((r) => (r.type === 'SRV' ? [r.data.port, r.data.target] : [])), [[80, 'web.shop.hostmesh']], p.node);
    assert.equal((await dnsQuery(p.dnsPort, 'nothing.shop.hostmesh')).rcode, 'NXDOMAIN', p.node);
    assert.equal((await dnsQuery(p.dnsPort, 'example.com')).rcode, 'REFUSED', p.node);
    assert.equal((await dnsQuery(p.dnsPort, `${shadow.metadata.name}.${MESH_NAMESPACE}.svc.cluster.local`)).rcode, 'REFUSED', p.node);
  }

  fake.delete('services', 'web', 'shop');
  await mesh.everyProxy('web gone from DNS', (tb) => tb.dns.services.length === 0);
  for (const p of mesh.proxies) assert.equal((await dnsQuery(p.dnsPort, 'web.shop.hostmesh')).rcode, 'NXDOMAIN', p.node);
});
