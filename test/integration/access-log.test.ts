/** The access log and trace context end to end through `hostmesh standalone`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, get } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { call, versionBackend } from './versions-support.ts';

test('access log lines and trace context through standalone', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const chunks: string[] = [];
  const mesh = await withStandalone(t, {
    'server.yaml': service('server', { ports: [v1] }),
    'empty.yaml': service('empty'),
  }, { accessLog: { write: (chunk: string) => chunks.push(chunk) } });
  const agent = client(t);
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  const passed = await call(agent, `${mesh.url('test/server:80')}/a/b?secret=1`, { traceparent: incoming, tracestate: 'vendor=x', 'user-agent': 'probe/1' });
  assert.equal(passed.seen.traceparent, incoming, 'a valid traceparent passes unchanged');
  assert.equal(passed.seen.tracestate, 'vendor=x');

  const started = await call(agent, `${mesh.url('test/server:80')}/c`, { traceparent: '00-zz-bad-01', tracestate: 'vendor=old' });
  assert.match(started.seen.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'an invalid one is replaced');
  assert.equal(started.seen.tracestate, null, 'and its tracestate dropped');

  const none = await call(agent, `${mesh.url('test/server:80')}/d`);
  assert.match(none.seen.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(none.seen.traceparent, started.seen.traceparent);

  const unavailable = await get(agent, `${mesh.url('test/empty:80')}/e`);
  assert.equal(unavailable.status, 503);

  const text = () => chunks.join('').split('\n').filter((l) => l !== '');
  // Lines are handed over at the end of the event-loop turn in which the exchange finished.
  for (let i = 0; i < 200 && text().length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const lines = text().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  const [a, b, c, d] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual(Object.keys(a), ['time', 'route', 'method', 'path', 'status', 'durationMs', 'bytesIn', 'bytesOut', 'backend', 'endpoint', 'client', 'userAgent', 'traceparent']);
  assert.equal(a.route, 'test/server:80');
  assert.equal(a.method, 'GET');
  assert.equal(a.path, '/a/b', 'the query is not logged');
  assert.equal(a.status, 200);
  assert.equal(typeof a.durationMs, 'number');
  assert.ok(!Number.isNaN(Date.parse(a.time as string)));
  assert.equal(a.bytesIn, 0);
  assert.equal(a.bytesOut, Buffer.byteLength(passed.body));
  assert.equal(a.backend, 'test/server:80');
  assert.equal(a.endpoint, `127.0.0.1:${v1}`);
  assert.equal(a.client, '127.0.0.1');
  assert.equal(a.userAgent, 'probe/1');
  assert.equal(a.traceparent, incoming);
  assert.equal(b.traceparent, started.seen.traceparent, 'the log records the trace the backend saw');
  assert.equal(c.traceparent, none.seen.traceparent);
  assert.equal(d.status, 503);
  assert.equal(d.backend, 'test/empty:80');
  assert.equal(d.endpoint, null);
  assert.equal(d.bytesOut, Buffer.byteLength(unavailable.body));
  assert.equal(d.traceparent, null, 'nothing left the mesh, no trace was started');
});
