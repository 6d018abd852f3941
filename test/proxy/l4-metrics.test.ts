/**
 * TCP and UDP connection metrics and access log lines, through a real engine over loopback
 * sockets: counts, live and closed byte totals, durations, zero-initialised series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { CONNECTION_DURATION_BUCKETS } from '../../src/proxy/metrics.ts';
import { until } from '../support/until.ts';
import { engine, freePort, metricLines, metricValue, svc, table } from './helpers.ts';
import { closedPort, readBytes, tcpBackend, tcpClient, udpBackend, udpExchange, udpSocket } from './l4-fixtures.ts';

/** Collects access log lines. */
function lineSink(): { lines: Record<string, unknown>[]; write(chunk: string): void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (chunk) => { for (const l of chunk.split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); } };
}

/** The value of `name` for the backend Service `backend` (the only such series in these tests). */
function value(e: Parameters<typeof metricValue>[0], name: string, backend: string, extra = ''): Promise<number | undefined> {
  return metricValue(e, new RegExp(`^${name}\\{[^}]*backend="${backend}"[^}]*${extra}[^}]*\\} `));
}

/** Greets each connection with `hi:`, then echoes. */
function greetEcho(s: Socket): void {
  s.write('hi:');
  s.pipe(s);
}

test('TCP: connections opened, closed, active, bytes both ways and durations per route and backend', async (t) => {
  const backend = await tcpBackend(t, greetEcho);
  const port = await freePort();
  const sink = lineSink();
  const e = engine(t, { accessLog: sink });
  await e.apply(table([{ cluster: svc('db', [backend.port], { protocol: 'tcp' }), listenPort: port }]));

  assert.deepEqual(await metricLines(e, /destination_service="db"/), [], 'an idle route has no series');

  // One connection carries 1000 bytes and closes; a second stays open with 10 bytes.
  const a = await tcpClient(port);
  assert.equal((await readBytes(a, 3)).toString(), 'hi:');
  // From the route's first connection, with the route's labels and the protocol.
  for (const name of ['hostmesh_connections_opened_total', 'hostmesh_connections_closed_total', 'hostmesh_connections_active', 'hostmesh_connection_received_bytes_total', 'hostmesh_connection_sent_bytes_total']) {
    const lines = await metricLines(e, new RegExp(`^${name}\\{`));
    assert.equal(lines.length, 1, name);
    assert.match(lines[0]!, /^\w+\{destination_namespace="test",destination_service="db",destination_port="80",backend="db",protocol="tcp"\} \d+$/);
  }
  assert.deepEqual(await metricLines(e, /^hostmesh_connection_duration_seconds/), [], 'no histogram before a connection closed');
  a.write(Buffer.alloc(1000, 1));
  await readBytes(a, 1000);
  a.end();
  const b = await tcpClient(port);
  await readBytes(b, 3);
  b.write('0123456789');
  await readBytes(b, 10);
  await until('the first connection to close', async () => await value(e, 'hostmesh_connections_closed_total', 'db') === 1);

  assert.equal(await value(e, 'hostmesh_connections_opened_total', 'db'), 2);
  assert.equal(await value(e, 'hostmesh_connections_active', 'db'), 1);
  assert.equal(await value(e, 'hostmesh_connection_received_bytes_total', 'db'), 1010, 'the open connection counts live');
  assert.equal(await value(e, 'hostmesh_connection_sent_bytes_total', 'db'), 1016);
  assert.equal(await value(e, 'hostmesh_connection_duration_seconds_count', 'db'), 1);
  assert.equal((await metricLines(e, /^hostmesh_connection_duration_seconds_bucket\{/)).length, CONNECTION_DURATION_BUCKETS.length + 1);

  b.end();
  await until('the second connection to close', async () => await value(e, 'hostmesh_connections_closed_total', 'db') === 2);
  assert.equal(await value(e, 'hostmesh_connections_active', 'db'), 0);
  assert.equal(await value(e, 'hostmesh_connection_received_bytes_total', 'db'), 1010, 'closed bytes are kept');
  assert.equal(await value(e, 'hostmesh_connection_sent_bytes_total', 'db'), 1016);
  assert.equal(await value(e, 'hostmesh_connection_duration_seconds_count', 'db'), 2);
  assert.equal(await value(e, 'hostmesh_connection_duration_seconds_bucket', 'db', 'le="\\+Inf"'), 2);

  await until('two access log lines', () => sink.lines.length === 2);
  const byBytes = sink.lines.toSorted((x, y) => Number(x.bytesIn) - Number(y.bytesIn));
  assert.deepEqual(byBytes.map((l) => [l.route, l.protocol, l.result, l.bytesIn, l.bytesOut, l.backend, l.endpoint, l.client]), [
    ['test/db:80', 'tcp', 'closed', 10, 13, 'test/db:80', `127.0.0.1:${backend.port}`, '127.0.0.1'],
    ['test/db:80', 'tcp', 'closed', 1000, 1003, 'test/db:80', `127.0.0.1:${backend.port}`, '127.0.0.1'],
  ]);
  for (const l of sink.lines) {
    assert.equal(typeof l.durationMs, 'number');
    assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});

test('TCP: a connection no endpoint takes is logged as failed and never counted as opened', async (t) => {
  const dead = await closedPort();
  const port = await freePort();
  const sink = lineSink();
  const e = engine(t, { accessLog: sink });
  await e.apply(table([{ cluster: svc('gone', [dead], { protocol: 'tcp' }), listenPort: port }]));
  const c = await tcpClient(port);
  c.on('error', () => {});
  await new Promise((resolve) => c.once('close', resolve));
  await until('the failed line', () => sink.lines.length === 1);
  assert.deepEqual([sink.lines[0]!.result, sink.lines[0]!.endpoint, sink.lines[0]!.bytesOut], ['failed', null, 0]);
  assert.equal(await value(e, 'hostmesh_connections_opened_total', 'gone'), 0);
  assert.equal(await value(e, 'hostmesh_upstream_connect_errors_total', 'gone'), 1);
});

test('UDP: sessions opened, active and ended, with datagram bytes both ways', async (t) => {
  const backend = await udpBackend(t, (msg) => Buffer.concat([Buffer.from('pong:'), msg]));
  const port = await freePort();
  const sink = lineSink();
  const e = engine(t, { accessLog: sink });
  const apply = (readTimeoutMs: number, version: number) => e.apply(table([{ cluster: svc('dns', [backend.port], { protocol: 'udp', readTimeoutMs }), listenPort: port }], version));
  await apply(60_000, 1);
  assert.equal(await value(e, 'hostmesh_connections_opened_total', 'dns', 'protocol="udp"'), undefined, 'an idle route has no series');

  const [c1, c2] = [await udpSocket(t), await udpSocket(t)];
  assert.equal((await udpExchange(c1, port, 'abcd')).toString(), 'pong:abcd');
  await udpExchange(c1, port, 'ef');
  await udpExchange(c2, port, 'x'.repeat(100));
  assert.equal(await value(e, 'hostmesh_connections_opened_total', 'dns'), 2);
  assert.equal(await value(e, 'hostmesh_connections_active', 'dns'), 2);
  assert.equal(await value(e, 'hostmesh_connection_received_bytes_total', 'dns'), 106);
  assert.equal(await value(e, 'hostmesh_connection_sent_bytes_total', 'dns'), 9 + 7 + 105);
  assert.equal(await value(e, 'hostmesh_connections_closed_total', 'dns'), 0);

  // Closing the listener (a table without the route) ends the sessions: each is counted and logged once.
  await e.apply(table([], 2));
  await until('two session lines', () => sink.lines.length === 2);
  assert.deepEqual(sink.lines.map((l) => [l.protocol, l.result, l.bytesIn, l.bytesOut]).toSorted((x, y) => Number(x[2]) - Number(y[2])), [
    ['udp', 'closed', 6, 16],
    ['udp', 'closed', 100, 105],
  ]);
  assert.deepEqual(await metricLines(e, /backend="dns"/), [], 'a removed route\'s series disappear');
});

test('HTTP routes carry no connection series', async (t) => {
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', [await closedPort()]), listenPort: port }]));
  assert.deepEqual(await metricLines(e, /^hostmesh_connection/), []);
});
