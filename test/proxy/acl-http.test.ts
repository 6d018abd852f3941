/**
 * ACL mode on HTTP routes (the access stage): real sockets, clients on distinct 127.0.0.x
 * addresses named by the table's identity map. Grants for every request, grants limited by
 * structured matches, unknown clients, 403 pages (text and JSON), and decisions that follow a
 * new table or a new identity map on a kept-alive connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFrom, call } from '../support/http-from.ts';
import type { AccessPolicy, IdentityEntry, RoutingTable } from '../../src/table/index.ts';
import { engine, freePort, httpBackend, metricLines, svc, table } from './helpers.ts';

const CLIENT: IdentityEntry = { address: '127.0.0.2', namespace: 'shop', serviceAccount: 'client' };
const PROM: IdentityEntry = { address: '127.0.0.3', namespace: 'monitoring', serviceAccount: 'prometheus' };
const POLICY: AccessPolicy = {
  allow: [
    { namespace: 'monitoring', serviceAccount: 'prometheus', matches: [{ path: { type: 'RegularExpression', value: '(?:/metrics).*' }, methods: ['GET'] }] },
    { namespace: 'shop', serviceAccount: 'client' },
  ],
};

test('http: identities allowed every request, some requests, or nothing; 403 names the Service and the client', async (t) => {
  let served = 0;
  const backend = await httpBackend(t, (req, res) => {
    served++;
    res.end(`ok ${req.method} ${req.url}`);
  });
  const e = engine(t);
  const port = await freePort();
  const v1: RoutingTable = { ...table([{ cluster: svc('web', [backend.port]), listenPort: port, route: { access: POLICY } }], 1), identities: [CLIENT, PROM] };
  const r = await e.apply(v1);
  assert.equal(r.ok, true, JSON.stringify(r));

  const client = agentFrom(t, '127.0.0.2');
  const prom = agentFrom(t, '127.0.0.3');
  const stranger = agentFrom(t, '127.0.0.4');
  assert.equal((await call(client, port, 'POST', '/anything')).status, 200);
  assert.equal((await call(prom, port, 'GET', '/metrics')).status, 200);
  const post = await call(prom, port, 'POST', '/metrics');
  assert.equal(post.status, 403);
  assert.equal(post.body, '403 Forbidden: test/web:80 denies this request from ServiceAccount monitoring/prometheus: ACL mode, and no TrafficTarget allows it\n');
  assert.equal((await call(prom, port, 'GET', '/api')).status, 403);
  const json = await call(stranger, port, 'GET', '/', { accept: 'application/json' });
  assert.equal(json.status, 403);
  assert.equal(json.type, 'application/json');
  assert.equal(JSON.parse(json.body).reason, 'test/web:80 denies this request from a client it does not know (127.0.0.4 is not a pod of the mesh): ACL mode, and no TrafficTarget allows it');
  assert.equal(served, 2, 'denied requests never reach the backend');
  assert.deepEqual((await metricLines(e, /^hostmesh_acl_denied_total/)).toSorted(), [
    'hostmesh_acl_denied_total{destination_namespace="test",destination_service="web",destination_port="80",source_namespace="",source_service_account=""} 1',
    'hostmesh_acl_denied_total{destination_namespace="test",destination_service="web",destination_port="80",source_namespace="monitoring",source_service_account="prometheus"} 2',
  ]);
});

test('http: a new identity map or a new policy applies to the next request of an open connection', async (t) => {
  const backend = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  const base = (version: number, access: AccessPolicy): RoutingTable => table([{ cluster: svc('web', [backend.port]), listenPort: port, route: { access } }], version);
  assert.equal((await e.apply({ ...base(1, POLICY), identities: [CLIENT] })).ok, true);
  const c = agentFrom(t, '127.0.0.2');
  assert.deepEqual(await call(c, port, 'GET', '/'), { status: 200, body: 'ok', reused: false, type: undefined });

  // The Pod behind 127.0.0.2 is gone (identity map only; the route is not rebuilt).
  assert.equal((await e.apply({ ...base(2, POLICY), identities: [] })).ok, true);
  const gone = await call(c, port, 'GET', '/');
  assert.deepEqual([gone.status, gone.reused], [403, true]);

  // It is back, but the policy no longer lists it.
  assert.equal((await e.apply({ ...base(3, { allow: [] }), identities: [CLIENT] })).ok, true);
  const unlisted = await call(c, port, 'GET', '/');
  assert.deepEqual([unlisted.status, unlisted.reused], [403, true]);

  // Listed again: allowed on the same connection.
  assert.equal((await e.apply({ ...base(4, POLICY), identities: [CLIENT] })).ok, true);
  const back = await call(c, port, 'GET', '/');
  assert.deepEqual([back.status, back.reused], [200, true]);
});
