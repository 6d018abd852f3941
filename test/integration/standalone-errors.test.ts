/**
 * What clients get when backends fail, through `hostmesh standalone`: 502, 503 and 504 with
 * bodies naming the service (never an address), read timeouts before and during the body, and a
 * bad annotation that leaves the Service serving on its previous settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { client, freePort, get, httpBackend, namedBackend, tcpServer } from '../proxy/helpers.ts';
import { unresponsivePort } from '../proxy/l4-fixtures.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { applied, metricSum, serviceYaml, status } from './standalone-support.ts';

test('502, 503 and 504: each failure maps to its status and a body naming the service, never an address', async (t) => {
  const refused = await freePort();
  const closer = await tcpServer(t, (s) => s.once('data', () => s.destroy()));
  const hung = await unresponsivePort(t);
  // Late answers stand for "never" while keeping a broken timeout from hanging the test.
  const silent = await httpBackend(t, (_req, res) => { setTimeout(() => res.end('late'), 3000).unref(); });
  const slowHead = await httpBackend(t, (_req, res) => { setTimeout(() => res.end('late'), 2000).unref(); });
  const mesh = await withStandalone(t, {
    'refused.yaml': service('refused', { ports: [refused] }),
    'closer.yaml': service('closer', { ports: [closer.port] }),
    'empty.yaml': service('empty', { ports: [] }),
    'dial.yaml': service('dial', { ports: [hung], annotations: { 'hostmesh.io/dial-timeout': '200ms' } }),
    'read.yaml': service('read', { ports: [silent.port], annotations: { 'hostmesh.io/read-timeout': '200ms' } }),
    'deadline.yaml': service('deadline', { ports: [slowHead.port], annotations: { 'hostmesh.io/request-timeout': '200ms' } }),
  });
  const c = client(t);
  const cases = [
    { service: 'refused', status: 502, reason: 'could not be reached', address: refused },
    { service: 'closer', status: 502, reason: 'closed the connection without a response', address: closer.port },
    { service: 'empty', status: 503, reason: 'has no ready endpoints', address: undefined },
    { service: 'dial', status: 504, reason: 'did not accept a connection in time', address: hung },
    { service: 'read', status: 504, reason: 'did not answer in time', address: silent.port },
    { service: 'deadline', status: 504, reason: 'did not complete the request in time', address: slowHead.port },
  ];
  for (const k of cases) {
    const route = `test/${k.service}:80`;
    const text = await get(c, `${mesh.url(route)}/`);
    assert.equal(text.status, k.status, `${k.service}: ${text.body}`);
    const title = { 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[k.status];
    // 503s are pages for browsers; the others one line of text.
    if (k.status === 503) assert.match(text.body, new RegExp(`<b>${route}</b> ${k.reason}\\.`), k.service);
    else assert.equal(text.body, `${k.status} ${title}: ${route} ${k.reason}\n`, k.service);
    assert.equal(text.headers['cache-control'], 'no-store');
    assert.ok(!text.body.includes('127.0.0.1') && (k.address === undefined || !text.body.includes(String(k.address))), `${k.service}: no backend address in ${text.body}`);
    if (k.status === 503) assert.equal(text.headers['retry-after'], '5');
    const json = await get(c, `${mesh.url(route)}/`, { method: 'GET', headers: { accept: 'application/json' } });
    assert.equal(json.status, k.status);
    assert.deepEqual(JSON.parse(json.body), {
      status: k.status,
      error: title,
      service: route,
      reason: `${route} ${k.reason}`,
    });
    assert.equal(await metricSum(mesh, 'hostmesh_requests_total{', `destination_service="${k.service}"`, `code="${k.status}"`), 2, `${k.service} counted by code`);
  }
  // Dial failures (refused and timed out) count as connect errors; the others do not.
  assert.equal(await metricSum(mesh, 'hostmesh_upstream_connect_errors_total{', 'destination_service="refused"'), 2);
  assert.equal(await metricSum(mesh, 'hostmesh_upstream_connect_errors_total{', 'destination_service="dial"'), 2);
  assert.equal(await metricSum(mesh, 'hostmesh_upstream_connect_errors_total{', 'destination_service="read"'), 0);
});

test('read timeout: 504 while waiting for the head; the connection is cut when the body stalls', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    if (req.url === '/stall-body') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x'.repeat(10));
    } else if (req.url === '/trickle') {
      // A chunk every 50 ms keeps a 300 ms read timeout from firing however long the body takes.
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`${n}\n`);
        if (++n === 12) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
      res.on('close', () => clearInterval(timer));
    } else {
      setTimeout(() => res.end('late'), 3000).unref();
    }
  });
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [b.port], annotations: { 'hostmesh.io/read-timeout': '300ms' } }) });
  const c = client(t);
  const head = await get(c, `${mesh.url('test/web:80')}/hang`);
  assert.equal(head.status, 504);
  assert.match(head.body, /test\/web:80 did not answer in time/);

  const stalled = await request(`${mesh.url('test/web:80')}/stall-body`, { dispatcher: c });
  assert.equal(stalled.statusCode, 200);
  await assert.rejects(stalled.body.text(), 'a body that stops arriving is cut, never ended as if complete');

  const trickle = await get(c, `${mesh.url('test/web:80')}/trickle`);
  assert.equal(trickle.status, 200);
  assert.equal(trickle.body.split('\n').filter((l) => l !== '').length, 12);
});

test('a bad annotation keeps the previous settings serving and is named in /v1/status', async (t) => {
  // /slow answers after 1.5 s: a working 250 ms read timeout turns it into a 504.
  const [b, b2] = await Promise.all([
    httpBackend(t, (req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 1500).unref();
      else res.end('one');
    }),
    namedBackend(t, 'two'),
  ]);
  const other = await namedBackend(t, 'other');
  const good = { 'hostmesh.io/read-timeout': '250ms', 'hostmesh.io/dial-timeout': '2s' };
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [b.port], annotations: good }),
    'other.yaml': service('other', { ports: [other.port] }),
  });
  const c = client(t);
  assert.equal((await get(c, `${mesh.url('test/web:80')}/slow`)).status, 504);
  assert.deepEqual(await status(mesh), []);

  // An invalid read timeout, a valid new dial timeout and a new endpoint, all in one edit.
  await mesh.write('web.yaml', service('web', { ports: [b2.port], annotations: { 'hostmesh.io/read-timeout': '3 sec', 'hostmesh.io/dial-timeout': '1s' } }));
  const diagnostics = await status(mesh);
  const invalid = diagnostics.find((d) => d.code === 'annotation-invalid');
  assert.ok(invalid, JSON.stringify(diagnostics, null, 2));
  assert.equal(invalid.severity, 'error');
  assert.deepEqual(invalid.object, { kind: 'Service', namespace: 'test', name: 'web' });
  assert.equal(invalid.key, 'hostmesh.io/read-timeout');
  assert.equal(invalid.value, '3 sec');
  assert.match(invalid.message, /^test\/web: hostmesh\.io\/read-timeout: "3 sec" is not a duration/);
  assert.ok(diagnostics.some((d) => d.code === 'settings-last-good' && d.object.name === 'web'), 'says the last good settings are kept');
  assert.ok(diagnostics.every((d) => d.object.name === 'web'), 'other Services are not reported');

  // All or nothing: neither the bad nor the good new value applies; endpoints still follow.
  const { cluster } = applied(mesh, 'test/web:80');
  assert.equal(cluster?.readTimeoutMs, 250);
  assert.equal(cluster?.dialTimeoutMs, 2000);
  assert.equal((await get(c, `${mesh.url('test/web:80')}/`)).body, 'two', 'the new endpoint is used');
  const b2Before = b2.seen.length;
  await mesh.write('web.yaml', service('web', { ports: [b.port], annotations: { 'hostmesh.io/read-timeout': '3 sec' } }));
  assert.equal((await get(c, `${mesh.url('test/web:80')}/slow`)).status, 504, 'the old read timeout still cuts the request');
  assert.equal(b2.seen.length, b2Before);
  assert.equal((await get(c, `${mesh.url('test/other:80')}/`)).body, 'other', 'another Service is untouched');

  // Fixed: the new value applies at once and the status is clean again.
  await mesh.write('web.yaml', service('web', { ports: [b.port], annotations: { 'hostmesh.io/read-timeout': '0', 'hostmesh.io/dial-timeout': '1s' } }));
  assert.deepEqual(await status(mesh), []);
  assert.equal(applied(mesh, 'test/web:80').cluster?.readTimeoutMs, undefined);
  assert.equal(applied(mesh, 'test/web:80').cluster?.dialTimeoutMs, 1000);
});

test('a bad annotation on a Service that never had valid settings serves it with the defaults', async (t) => {
  const b = await namedBackend(t, 'web');
  const mesh = await withStandalone(t, {
    'web.yaml': serviceYaml('web', { annotations: { 'mesh.traefik.io/traffic-type': 'tcpp' }, ports: [{ name: 'http', port: 80, backends: [b.port] }] }),
  });
  const r = await get(client(t), `${mesh.url('test/web:80')}/`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'web');
  const invalid = (await status(mesh)).find((d) => d.code === 'annotation-invalid');
  assert.equal(invalid?.key, 'mesh.traefik.io/traffic-type');
  assert.equal(invalid?.value, 'tcpp');
  assert.match(invalid?.message ?? '', /^test\/web: mesh\.traefik\.io\/traffic-type: "tcpp"/);
  assert.equal(applied(mesh, 'test/web:80').route?.protocol, 'http');
});
