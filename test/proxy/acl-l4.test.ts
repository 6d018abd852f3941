/**
 * ACL mode on TCP and UDP routes (`RouteEntry.access`): real sockets, clients bound to distinct
 * 127.0.0.x addresses that the table's identity map names. A denied TCP client is closed before
 * anything is dialed (the backend sees no connection and no byte); a denied UDP client gets no
 * session (the backend sees no datagram). Decisions follow table applies live.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { AccessPolicy, IdentityEntry, RoutingTable } from '../../src/table/index.ts';
import { engine, freePort, metricLines, svc, table } from './helpers.ts';
import { closed, readBytes, tcpBackend, udpBackend, udpExchange } from './l4-fixtures.ts';

const CLIENT: IdentityEntry = { address: '127.0.0.2', namespace: 'whoami', serviceAccount: 'whoami-client' };
const OTHER: IdentityEntry = { address: '127.0.0.3', namespace: 'whoami', serviceAccount: 'intruder' };
const ALLOW_CLIENT: AccessPolicy = { allow: [{ namespace: 'whoami', serviceAccount: 'whoami-client' }] };

function connectFrom(port: number, localAddress: string): Socket {
  const s = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
  s.on('error', () => {});
  return s;
}

async function udpFrom(t: { after: (fn: () => Promise<void>) => void }, address: string): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.bind({ address, port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s;
}

test('tcp: only an allowed identity reaches the backend; others are closed with zero bytes relayed', async (t) => {
  let accepted = 0;
  let received = 0;
  const backend = await tcpBackend(t, (s) => {
    accepted++;
    s.on('data', (d: Buffer) => { received += d.length; s.write(d); });
    s.on('end', () => s.end());
  });
  const e = engine(t);
  const port = await freePort();
  const v1: RoutingTable = { ...table([{ cluster: svc('db', [backend.port], { protocol: 'tcp' }), listenPort: port, route: { access: ALLOW_CLIENT } }], 1), identities: [CLIENT, OTHER] };
  const r = await e.apply(v1);
  assert.equal(r.ok, true, JSON.stringify(r));

  const ok = connectFrom(port, '127.0.0.2');
  ok.write('hello');
  assert.equal((await readBytes(ok, 5)).toString(), 'hello');
  ok.end();
  await closed(ok);

  for (const from of ['127.0.0.3', '127.0.0.4']) {
    const denied = connectFrom(port, from);
    denied.write('secret bytes');
    await closed(denied);
  }
  assert.equal(accepted, 1, 'only the allowed client was dialed through');
  assert.equal(received, 5, 'no byte of a denied client reached the backend');
  assert.deepEqual((await metricLines(e, /^hostmesh_acl_denied_total/)).toSorted(), [
    'hostmesh_acl_denied_total{destination_namespace="test",destination_service="db",destination_port="80",source_namespace="",source_service_account=""} 1',
    'hostmesh_acl_denied_total{destination_namespace="test",destination_service="db",destination_port="80",source_namespace="whoami",source_service_account="intruder"} 1',
  ]);

  // A new table allows the other identity: connections opened after it are let through.
  const allowBoth: AccessPolicy = { allow: [...ALLOW_CLIENT.allow, { namespace: 'whoami', serviceAccount: 'intruder' }] };
  const v2: RoutingTable = { ...table([{ cluster: svc('db', [backend.port], { protocol: 'tcp' }), listenPort: port, route: { access: allowBoth } }], 2), identities: [CLIENT, OTHER] };
  assert.equal((await e.apply(v2)).ok, true);
  const now = connectFrom(port, '127.0.0.3');
  now.write('ok');
  assert.equal((await readBytes(now, 2)).toString(), 'ok');
  now.end();
  await closed(now);
  assert.equal(accepted, 2);

  // The identity map changes alone (the Pod at 127.0.0.3 is gone): denied again, no route rebuilt.
  const built = e.built('test/db:80')!.route;
  assert.equal((await e.apply({ ...v2, version: 3, identities: [CLIENT] })).ok, true);
  assert.equal(e.built('test/db:80')!.route, built);
  const gone = connectFrom(port, '127.0.0.3');
  gone.write('x');
  await closed(gone);
  assert.equal(accepted, 2);
});

test('udp: a denied client gets no session and its datagrams never reach the backend', async (t) => {
  const backend = await udpBackend(t, (m) => Buffer.concat([Buffer.from('re:'), m]));
  const e = engine(t);
  const port = await freePort();
  const v1: RoutingTable = { ...table([{ cluster: svc('dns', [backend.port], { protocol: 'udp' }), listenPort: port, route: { access: ALLOW_CLIENT } }], 1), identities: [CLIENT, OTHER] };
  assert.equal((await e.apply(v1)).ok, true);

  const allowed = await udpFrom(t, '127.0.0.2');
  const denied = await udpFrom(t, '127.0.0.3');
  denied.send('nope', port, '127.0.0.1');
  // The listener handles datagrams in order: once the allowed reply is back, the denied one was seen.
  assert.equal((await udpExchange(allowed, port, 'hi')).toString(), 're:hi');
  assert.equal(backend.received, 1);
  assert.deepEqual(await metricLines(e, /^hostmesh_acl_denied_total/), [
    'hostmesh_acl_denied_total{destination_namespace="test",destination_service="dns",destination_port="80",source_namespace="whoami",source_service_account="intruder"} 1',
  ]);

  // Allowed by the next table: the same client now gets a session.
  const both: AccessPolicy = { allow: [...ALLOW_CLIENT.allow, { namespace: 'whoami', serviceAccount: 'intruder' }] };
  assert.equal((await e.apply({ ...v1, version: 2, routes: v1.routes.map((r) => ({ ...r, access: both })) })).ok, true);
  assert.equal((await udpExchange(denied, port, 'now')).toString(), 're:now');
  assert.equal(backend.received, 2);
});
