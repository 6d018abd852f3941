import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { client, closeServer, engine, freePort, get, httpBackend, LOOPBACK, metricValue, namedBackend, svc, table } from './helpers.ts';
import type { L4Listener, L4ListenerOptions } from '../../src/proxy/l4-listeners.ts';
import { tinyTcpForwarder } from './helpers.ts';
import { ProxyEngine } from '../../src/proxy/engine.ts';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: LOOPBACK, port });
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

test('re-applying changes the endpoint set; the old table serves until then', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const port = await freePort();
  const e = engine(t);
  const c = client(t);
  assert.equal((await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 1))).ok, true);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'a');
  const r2 = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 2));
  assert.deepEqual(r2.ok && { opened: r2.opened, closed: r2.closed, changed: r2.changed }, { opened: [], closed: [], changed: true });
  for (let i = 0; i < 5; i++) assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'b');
  assert.equal(await metricValue(e, /^hostmesh_config_version /), 2);
  // The same content under a new version: nothing rebuilt, the version is recorded.
  const r3 = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 3));
  assert.equal(r3.ok && r3.changed, false);
  assert.equal(e.current?.table.version, 3);
  assert.equal(await metricValue(e, /^hostmesh_config_version /), 3);
});

test('a bad table is refused with the path of the problem; the old one keeps serving', async (t) => {
  const a = await namedBackend(t, 'a');
  const port = await freePort();
  const e = engine(t);
  const c = client(t);
  await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]));

  const garbage = await e.apply({ format: 1, epoch: 'test', version: 2, listeners: 'nope' });
  assert.equal(garbage.ok, false);
  assert.equal(!garbage.ok && garbage.error.code, 'TABLE_INVALID');
  assert.match(!garbage.ok ? garbage.error.message : '', /\$\.listeners: must be an array/);
  assert.equal((await e.apply(null)).ok, false);

  const badCookie = table([{ cluster: svc('web', [a.port], { loadBalancer: { kind: 'cookie', cookie: 'bad cookie' } }), listenPort: port }], 3);
  const r = await e.apply(badCookie);
  assert.equal(!r.ok && r.error.code, 'TABLE_INVALID');
  assert.match(!r.ok ? r.error.message : '', /\$\.clusters\[0\]\.loadBalancer\.cookie: must be a cookie name/);

  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'a');
  assert.equal(e.current?.table.version, 1);
});

test('a listener that cannot open refuses the whole table: no new port opens, the old table serves', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const occupied: NetServer = createNetServer();
  await new Promise<void>((resolve) => occupied.listen(0, LOOPBACK, resolve));
  t.after(() => closeServer(occupied));
  const busyPort = (occupied.address() as { port: number }).port;
  const [port, fresh] = [await freePort(), await freePort()];
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]));
  const r = await e.apply(table([
    { cluster: svc('web', [b.port]), listenPort: port },
    { cluster: svc('fresh', [b.port]), listenPort: fresh },
    { cluster: svc('busy', [b.port]), listenPort: busyPort },
  ], 2));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'LISTENER_OPEN_FAILED');
  assert.match(!r.ok ? r.error.message : '', new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busyPort} for test/busy:80`));
  assert.equal(await refused(fresh), true, 'listeners opened by the failed apply are closed again');
  assert.equal((await get(client(t), `http://127.0.0.1:${port}/`)).body, 'a', 'endpoints are not changed either');
});

test('removing a listener drains it: a request in flight completes, then the port closes', async (t) => {
  let hold: ServerResponse | undefined;
  let arrived: () => void = () => {};
  const reached = new Promise<void>((resolve) => { arrived = resolve; });
  const slow = await httpBackend(t, (_req, res) => { hold = res; arrived(); });
  const other = await namedBackend(t, 'other');
  const [p1, p2] = [await freePort(), await freePort()];
  const e = engine(t);
  await e.apply(table([{ cluster: svc('slow', [slow.port]), listenPort: p1 }]));
  const c = client(t);
  const inFlight = get(c, `http://127.0.0.1:${p1}/`);
  await reached;
  const r = await e.apply(table([{ cluster: svc('other', [other.port]), listenPort: p2 }], 2));
  assert.deepEqual(r.ok && { opened: r.opened, closed: r.closed }, { opened: [p2], closed: [p1] });
  assert.equal(await refused(p1), true, 'the removed port accepts no new connections');
  assert.equal((await get(c, `http://127.0.0.1:${p2}/`)).body, 'other', 'the added listener serves');
  hold!.end('finished');
  const done = await inFlight;
  assert.equal(done.status, 200);
  assert.equal(done.body, 'finished');
  assert.equal(done.headers.connection, 'close', 'a draining listener closes connections after their response');
});

test('a request in flight finishes on the route and endpoint it started with', async (t) => {
  let hold: ServerResponse | undefined;
  let arrived: () => void = () => {};
  const reached = new Promise<void>((resolve) => { arrived = resolve; });
  const a = await httpBackend(t, (_req, res) => { hold = res; arrived(); });
  const b = await namedBackend(t, 'b');
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]));
  const c = client(t, { connections: 4 });
  const inFlight = get(c, `http://127.0.0.1:${port}/`);
  await reached;
  await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 2));
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'b');
  hold!.end('from a');
  assert.equal((await inFlight).body, 'from a');
});

test('TCP and UDP listeners come from the registered factories; without one they are skipped with a warning', async (t) => {
  const backend = createNetServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => backend.listen(0, LOOPBACK, resolve));
  t.after(() => closeServer(backend));
  const created: L4ListenerOptions[] = [];
  const createTcpListener = (opts: L4ListenerOptions): L4Listener => {
    created.push(opts);
    return tinyTcpForwarder(opts);
  };
  const [tcpPort, udpPort, deadPort] = [await freePort(), await freePort(), await freePort()];
  const e = engine(t, { l4: { tcp: createTcpListener } });
  const r = await e.apply(table([
    { cluster: svc('echo', [(backend.address() as { port: number }).port], { protocol: 'tcp' }), listenPort: tcpPort },
    { cluster: svc('dead', [deadPort], { protocol: 'tcp' }), listenPort: deadPort === tcpPort ? deadPort + 1 : await freePort() },
    { cluster: svc('dns', [deadPort], { protocol: 'udp' }), listenPort: udpPort },
  ]));
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.warnings, [`listener ${udpPort} (test/dns:80): udp forwarding is not available in this proxy; the port is not opened`]);
  assert.equal(created.length, 2);
  assert.equal(created[0]!.host, LOOPBACK);
  const echoed = await new Promise<string>((resolve, reject) => {
    const s = netConnect({ host: LOOPBACK, port: tcpPort });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { resolve(d); s.destroy(); });
    s.on('error', reject);
    s.write('ping');
  });
  assert.equal(echoed, 'ping');
  // The observer turns connect errors into the same metric HTTP uses.
  const deadListen = (r.ok ? r.opened : []).find((p) => p !== tcpPort)!;
  await new Promise<void>((resolve) => {
    const s = netConnect({ host: LOOPBACK, port: deadListen });
    s.on('close', () => resolve());
    s.on('error', () => {});
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(await metricValue(e, /^hostmesh_upstream_connect_errors_total\{destination_namespace="test",destination_service="dead"/), 1);
  assert.equal((await e.registry.metrics()).includes('hostmesh_requests_total{destination_namespace="test",destination_service="echo"'), false, 'no HTTP series for TCP routes');
});

test('several engines run side by side in one process, with their own metrics', async (t) => {
  const a = await namedBackend(t, 'a');
  const [p1, p2] = [await freePort(), await freePort()];
  const e1 = engine(t);
  const e2 = engine(t);
  await e1.apply(table([{ cluster: svc('one', [a.port]), listenPort: p1 }]));
  await e2.apply(table([{ cluster: svc('two', [a.port]), listenPort: p2 }]));
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${p1}/`)).body, 'a');
  assert.equal((await get(c, `http://127.0.0.1:${p2}/`)).body, 'a');
  assert.equal((await e1.registry.metrics()).includes('destination_service="two"'), false);
  assert.equal(await metricValue(e2, /^hostmesh_requests_total\{destination_namespace="test",destination_service="two",destination_port="80",backend="two",code="200",method="GET"\}/), 1);
});

test('with reusePort two engines share one listener port', async (t) => {
  const a = await namedBackend(t, 'a');
  const port = await freePort();
  const e1 = engine(t, { reusePort: true });
  const e2 = engine(t, { reusePort: true });
  assert.equal((await e1.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]))).ok, true);
  const r = await e2.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]));
  assert.equal(r.ok, true, !r.ok ? r.error.message : '');
  const c = client(t);
  for (let i = 0; i < 4; i++) assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'a');
});

test('a closed engine refuses tables and has closed its ports', async (t) => {
  const a = await namedBackend(t, 'a');
  const port = await freePort();
  const e = new ProxyEngine({ processMetrics: false });
  await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }]));
  assert.equal(e.ready, true);
  await e.close();
  assert.equal(await refused(port), true);
  const r = await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 2));
  assert.equal(!r.ok && r.error.code, 'PROXY_CLOSED');
});

test('a port can change protocol between applies (http -> tcp -> http)', async (t) => {
  const a = await namedBackend(t, 'a');
  const echo = createNetServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, LOOPBACK, resolve));
  t.after(() => closeServer(echo));
  const port = await freePort();
  const e = engine(t, { l4: { tcp: tinyTcpForwarder } });
  const c = client(t);
  await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 1));
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'a');
  const r = await e.apply(table([{ cluster: svc('web', [(echo.address() as { port: number }).port], { protocol: 'tcp' }), listenPort: port }], 2));
  assert.equal(r.ok, true, !r.ok ? r.error.message : '');
  const echoed = await new Promise<string>((resolve, reject) => {
    const s = netConnect({ host: LOOPBACK, port });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { resolve(d); s.destroy(); });
    s.on('error', reject);
    s.write('raw bytes');
  });
  assert.equal(echoed, 'raw bytes');
  assert.equal((await e.apply(table([{ cluster: svc('web', [a.port]), listenPort: port }], 3))).ok, true);
  assert.equal((await get(client(t), `http://127.0.0.1:${port}/`)).body, 'a');
});
