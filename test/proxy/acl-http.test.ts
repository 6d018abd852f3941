/**
 * ACL mode on HTTP routes (the access stage): real sockets, clients on distinct 127.0.0.x
 * addresses named by the table's identity map. Grants for every request, grants limited by
 * structured matches, unknown clients, 403 pages (text and JSON), and decisions that follow a
 * new table or a new identity map on a kept-alive connection.
 */
import { connect as h2connect } from 'node:http2';
import type { SecureClientSessionOptions } from 'node:http2';
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

/** Counts the engine's identity-map lookups (its real `identify`, wrapped). */
function countLookups(e: ReturnType<typeof engine>): { readonly n: number } {
  const counter = { n: 0 };
  const identify = e.identities.identify.bind(e.identities);
  e.identities.identify = (address) => {
    counter.n++;
    return identify(address);
  };
  return counter;
}

/**
 * Issue 10 item 5: ACL mode costs one identity lookup per connection, not per request. The
 * engine's real identity map is counted (its `identify` wrapped); requests on one kept-alive
 * connection must not look up again until the table or the identity map changes. With the access
 * log on too (it names the client identity on every line), since that must not add a lookup per
 * request either.
 */
for (const withLog of [false, true]) {
  test(`http: one identity lookup per connection and table, not per request${withLog ? ' (access log on)' : ''}`, async (t) => {
    const backend = await httpBackend(t, (_req, res) => res.end('ok'));
    const lines: string[] = [];
    const e = engine(t, withLog ? { accessLog: { write: (chunk: string) => { lines.push(chunk); } } } : {});
    const lookups = countLookups(e);
    const port = await freePort();
    const base = (version: number, access: AccessPolicy): RoutingTable => table([{ cluster: svc('web', [backend.port]), listenPort: port, route: { access } }], version);
    // One entries array: the engine rebuilds the map only when the table brings another one.
    const ids = [CLIENT, PROM];
    assert.equal((await e.apply({ ...base(1, POLICY), identities: ids })).ok, true);
    const c = agentFrom(t, '127.0.0.2');
    const burst = async (n: number, method: string, path: string, want: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const r = await call(c, port, method, path);
        assert.equal(r.status, want, `request ${i}: ${r.body}`);
      }
    };
    await burst(20, 'GET', '/a', 200);
    assert.equal(lookups.n, 1, '20 requests on one connection: one lookup');
    await burst(20, 'POST', '/b', 200);
    assert.equal(lookups.n, 1, 'the same connection, other requests: still one');

    // A new table whose policy no longer lists the client: decided again on the same connection
    // (denied), from the connection's identity (the map did not change: no new lookup).
    const others: AccessPolicy = { allow: [{ namespace: 'other', serviceAccount: 'x' }] };
    assert.equal((await e.apply({ ...base(2, others), identities: ids })).ok, true);
    await burst(20, 'GET', '/c', 403);
    assert.equal(lookups.n, 1, 'a new table with the same identity map: no new lookup');

    // A changed identity map (the client now known as other/x): looked up again, once, and allowed.
    assert.equal((await e.apply({ ...base(3, others), identities: [{ ...CLIENT, namespace: 'other', serviceAccount: 'x' }, PROM] })).ok, true);
    await burst(20, 'GET', '/d', 200);
    assert.equal(lookups.n, 2, 'after an identity map change: one more lookup');

    // A request-dependent grant (prometheus: GET /metrics only) still looks its identity up once per connection.
    assert.equal((await e.apply({ ...base(4, POLICY), identities: [CLIENT, PROM] })).ok, true);
    const p = agentFrom(t, '127.0.0.3');
    const before = lookups.n;
    for (let i = 0; i < 10; i++) assert.equal((await call(p, port, i % 2 === 0 ? 'GET' : 'POST', '/metrics')).status, i % 2 === 0 ? 200 : 403);
    assert.equal(lookups.n - before, 1, '10 requests from prometheus: one lookup');
    if (withLog) {
      await e.close();
      const logged = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as { identity?: string });
      assert.equal(logged.length, 90);
      assert.equal(logged.filter((l) => l.identity === 'shop/client').length, 60, 'the access log still names the identity');
      assert.equal(logged.filter((l) => l.identity === 'other/x').length, 20, 'and follows the changed map');
      assert.equal(logged.filter((l) => l.identity === 'monitoring/prometheus').length, 10);
    }
  });
}

test('http/2: one identity lookup per connection for all its streams; an unknown client is denied on every stream', async (t) => {
  const backend = await httpBackend(t, (req, res) => res.end(`ok ${req.url}`));
  const e = engine(t);
  const lookups = countLookups(e);
  const port = await freePort();
  assert.equal((await e.apply({ ...table([{ cluster: svc('web', [backend.port]), listenPort: port, route: { access: POLICY } }], 1), identities: [CLIENT, PROM] })).ok, true);
  const streams = async (localAddress: string, n: number): Promise<number[]> => {
    const session = h2connect(`http://127.0.0.1:${port}`, { localAddress } as SecureClientSessionOptions);
    session.on('error', () => {});
    t.after(() => session.destroy());
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':path': `/s${i}` });
        let status = 0;
        req.on('response', (h) => { status = Number(h[':status']); });
        req.on('data', () => {});
        req.on('end', () => resolve(status));
        req.on('error', reject);
        req.end();
      }));
    }
    session.close();
    return statuses;
  };
  assert.deepEqual(await streams('127.0.0.2', 10), Array(10).fill(200));
  assert.equal(lookups.n, 1, '10 streams on one HTTP/2 connection: one lookup');
  assert.deepEqual(await streams('127.0.0.4', 5), Array(5).fill(403));
  assert.equal(lookups.n, 2, 'another connection: one more');
});
