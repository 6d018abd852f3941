/**
 * Every Caddy Mesh and Traefik Mesh alias of the issue-2 keys (traffic-type, scheme, dial, read
 * and write timeouts), through `hostmesh standalone`: each alias alone changes traffic (and the
 * applied table) like its canonical key, and where both are set and disagree the canonical key
 * wins with a warning in `GET /v1/status` naming the alias, its value and the winner.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { client, get, httpBackend, namedBackend, tcpServer } from '../proxy/helpers.ts';
import { readAll, tcpBackend, tcpClient, unresponsivePort } from '../proxy/l4-fixtures.ts';
import { service, withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import { applied, grpcEchoBackend, grpcMessage, metricSum, status } from './standalone-support.ts';

const CADDY = 'mesh.caddyserver.com/';
const TRAEFIK = 'mesh.traefik.io/';
const MAESH = 'maesh.containo.us/';

/** The alias-conflict warning about `aliasKey`, checked to name the alias, its value and the winner. */
async function expectConflict(mesh: StandaloneFixture, svc: string, aliasKey: string, value: string, winner: string): Promise<void> {
  const diagnostics = await status(mesh);
  const w = diagnostics.find((d) => d.code === 'annotation-alias-conflict' && d.object.name === svc);
  assert.ok(w, `a conflict warning for test/${svc} in ${JSON.stringify(diagnostics, null, 2)}`);
  assert.equal(w.severity, 'warning');
  assert.equal(w.key, aliasKey);
  assert.equal(w.value, value);
  assert.match(w.message, new RegExp(`^test/${svc}: ${aliasKey.replaceAll('.', '\\.')}: "${value}" disagrees with ${winner.replaceAll('.', '\\.')}: "[^"]+"; ${winner.replaceAll('.', '\\.')} wins$`));
}

/** Sends bytes over a raw TCP connection, half-closes, and returns everything that comes back. */
async function tcpRoundTrip(port: number, text: string): Promise<string> {
  const c = await tcpClient(port);
  const back = readAll(c);
  c.end(text);
  const out = (await back).toString();
  c.destroy();
  return out;
}

test('traffic-type: Traefik Mesh aliases make a tcp route; the canonical key wins a conflict', async (t) => {
  const echo = await tcpBackend(t, (s) => s.pipe(s));
  const web = await namedBackend(t, 'http answer');
  const mesh = await withStandalone(t, {
    'traefik.yaml': service('traefik', { port: 7, ports: [echo.port], annotations: { [`${TRAEFIK}traffic-type`]: 'tcp' } }),
    'maesh.yaml': service('maesh', { port: 7, ports: [echo.port], annotations: { [`${MAESH}traffic-type`]: 'TCP' } }),
    'conflict.yaml': service('conflict', { ports: [web.port], annotations: { 'hostmesh.io/traffic-type': 'http', [`${TRAEFIK}traffic-type`]: 'tcp' } }),
  });
  for (const svc of ['traefik', 'maesh']) {
    assert.equal(applied(mesh, `test/${svc}:7`).route?.protocol, 'tcp', svc);
    // Bytes that are not HTTP come back untouched: no HTTP parser in the way.
    assert.equal(await tcpRoundTrip(mesh.port(`test/${svc}:7`), 'not http at all\r\n\r\n'), 'not http at all\r\n\r\n', svc);
  }
  assert.equal(applied(mesh, 'test/conflict:80').route?.protocol, 'http');
  assert.equal((await get(client(t), mesh.url('test/conflict:80'))).body, 'http answer');
  await expectConflict(mesh, 'conflict', `${TRAEFIK}traffic-type`, 'tcp', 'hostmesh.io/traffic-type');
});

test('scheme: Traefik Mesh aliases speak h2c to an HTTP/2-only backend; the canonical key wins a conflict', async (t) => {
  const h2 = await grpcEchoBackend(t);
  const h1 = await namedBackend(t, 'http/1.1 backend');
  const mesh = await withStandalone(t, {
    'traefik.yaml': service('traefik', { ports: [h2.port], annotations: { [`${TRAEFIK}scheme`]: 'h2c' } }),
    'maesh.yaml': service('maesh', { ports: [h2.port], annotations: { [`${MAESH}scheme`]: 'h2c' } }),
    'conflict.yaml': service('conflict', { ports: [h1.port], annotations: { 'hostmesh.io/scheme': 'http', [`${TRAEFIK}scheme`]: 'h2c' } }),
  });
  const c = client(t);
  for (const svc of ['traefik', 'maesh']) {
    assert.equal(applied(mesh, `test/${svc}:80`).cluster?.scheme, 'h2c', svc);
    const r = await get(c, `${mesh.url(`test/${svc}:80`)}/echo`, { method: 'POST', body: grpcMessage(svc) });
    assert.equal(r.status, 200, `${svc}: ${r.body}`);
    assert.equal(r.body.slice(5), svc);
  }
  assert.equal(h2.seen.length, 2);
  assert.equal(applied(mesh, 'test/conflict:80').cluster?.scheme, 'http');
  assert.equal((await get(c, mesh.url('test/conflict:80'))).body, 'http/1.1 backend');
  await expectConflict(mesh, 'conflict', `${TRAEFIK}scheme`, 'h2c', 'hostmesh.io/scheme');
});

test('timeout-dial-timeout (Caddy Mesh) bounds the dial; the canonical dial-timeout wins a conflict', async (t) => {
  const hung = await unresponsivePort(t);
  const mesh = await withStandalone(t, {
    'caddy.yaml': service('caddy', { ports: [hung], annotations: { [`${CADDY}timeout-dial-timeout`]: '200ms' } }),
    'conflict.yaml': service('conflict', { ports: [hung], annotations: { 'hostmesh.io/dial-timeout': '2s', [`${CADDY}timeout-dial-timeout`]: '200ms' } }),
  });
  assert.equal(applied(mesh, 'test/caddy:80').cluster?.dialTimeoutMs, 200);
  const r = await get(client(t), mesh.url('test/caddy:80'));
  assert.equal(r.status, 504);
  assert.match(r.body, /test\/caddy:80 did not accept a connection in time/);
  assert.equal(await metricSum(mesh, 'hostmesh_upstream_connect_errors_total{', 'destination_service="caddy"'), 1);
  assert.equal(applied(mesh, 'test/conflict:80').cluster?.dialTimeoutMs, 2000);
  await expectConflict(mesh, 'conflict', `${CADDY}timeout-dial-timeout`, '200ms', 'hostmesh.io/dial-timeout');
});

test('timeout-read-timeout (Caddy Mesh) cuts a slow answer; the canonical read-timeout wins a conflict', async (t) => {
  // Answers after 600 ms: too slow for 200 ms, fine for 5 s.
  const slow = await httpBackend(t, (_req, res) => { setTimeout(() => res.end('slow answer'), 600).unref(); });
  const mesh = await withStandalone(t, {
    'caddy.yaml': service('caddy', { ports: [slow.port], annotations: { [`${CADDY}timeout-read-timeout`]: '200ms' } }),
    'conflict.yaml': service('conflict', { ports: [slow.port], annotations: { 'hostmesh.io/read-timeout': '5s', [`${CADDY}timeout-read-timeout`]: '200ms' } }),
  });
  const c = client(t);
  assert.equal(applied(mesh, 'test/caddy:80').cluster?.readTimeoutMs, 200);
  const cut = await get(c, mesh.url('test/caddy:80'));
  assert.equal(cut.status, 504);
  assert.match(cut.body, /test\/caddy:80 did not answer in time/);
  assert.equal(applied(mesh, 'test/conflict:80').cluster?.readTimeoutMs, 5000);
  const ok = await get(c, mesh.url('test/conflict:80'));
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'slow answer');
  await expectConflict(mesh, 'conflict', `${CADDY}timeout-read-timeout`, '200ms', 'hostmesh.io/read-timeout');
});

/** Uploads up to 100 MB to a backend that stopped reading; resolves to the status (0: cut). */
async function stuckUpload(t: TestContext, url: string): Promise<{ status: number; body: string }> {
  const chunk = Buffer.alloc(256 * 1024, 1);
  async function* body() {
    for (let i = 0; i < 400; i++) yield chunk;
  }
  return request(url, { dispatcher: client(t), method: 'PUT', body: Readable.from(body()) })
    .then(async (r) => ({ status: r.statusCode, body: await r.body.text() }), (err: Error) => ({ status: 0, body: err.message }));
}

test('timeout-write-timeout (Caddy Mesh) gives up on a backend that stops reading; the canonical write-timeout wins a conflict', async (t) => {
  const stuck = await tcpServer(t, (s) => s.once('data', () => s.pause()));
  const mesh = await withStandalone(t, {
    'caddy.yaml': service('caddy', { ports: [stuck.port], annotations: { [`${CADDY}timeout-write-timeout`]: '200ms' } }),
    'conflict.yaml': service('conflict', { ports: [stuck.port], annotations: { 'hostmesh.io/write-timeout': '5s', [`${CADDY}timeout-write-timeout`]: '200ms' } }),
  });
  assert.equal(applied(mesh, 'test/caddy:80').cluster?.writeTimeoutMs, 200);
  const outcome = await stuckUpload(t, `${mesh.url('test/caddy:80')}/upload`);
  // The 504 is sent while the body still arrives: the client may see it, or only the cut.
  if (outcome.status !== 0) {
    assert.equal(outcome.status, 504);
    assert.match(outcome.body, /test\/caddy:80 did not accept the request in time/);
  }
  assert.equal(await metricSum(mesh, 'hostmesh_requests_total{', 'destination_service="caddy"', 'code="504"', 'method="PUT"'), 1);
  assert.equal(applied(mesh, 'test/conflict:80').cluster?.writeTimeoutMs, 5000);
  await expectConflict(mesh, 'conflict', `${CADDY}timeout-write-timeout`, '200ms', 'hostmesh.io/write-timeout');
});

test('keys without aliases: load-balancer affinity and request-timeout apply through their canonical key', async (t) => {
  const [a, b] = await Promise.all([namedBackend(t, 'a'), namedBackend(t, 'b')]);
  const slowHead = await httpBackend(t, (_req, res) => { setTimeout(() => res.end('late'), 1500).unref(); });
  const mesh = await withStandalone(t, {
    'header.yaml': service('by-header', { ports: [a.port, b.port], annotations: { 'hostmesh.io/load-balancer': 'header:X-User' } }),
    'cookie.yaml': service('by-cookie', { ports: [a.port, b.port], annotations: { 'hostmesh.io/load-balancer': 'cookie:pin' } }),
    'deadline.yaml': service('deadline', { ports: [slowHead.port], annotations: { 'hostmesh.io/request-timeout': '200ms' } }),
  });
  const c = client(t);
  assert.deepEqual(applied(mesh, 'test/by-header:80').cluster?.loadBalancer, { kind: 'header', header: 'X-User' });
  const reached = new Set<string>();
  for (let u = 0; u < 20; u++) {
    const answers = new Set<string>();
    for (let i = 0; i < 2; i++) answers.add((await get(c, mesh.url('test/by-header:80'), { method: 'GET', headers: { 'x-user': `user-${u}` } })).body);
    assert.equal(answers.size, 1, `user-${u} always reaches the same endpoint: ${[...answers]}`);
    reached.add([...answers][0]!);
  }
  // Hashing spreads values: 20 users all on one of two endpoints has odds of about 2 in a million.
  assert.deepEqual([...reached].toSorted(), ['a', 'b']);

  const first = await get(c, mesh.url('test/by-cookie:80'));
  const setCookie = String(first.headers['set-cookie'] ?? '');
  assert.match(setCookie, /^pin=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
  const cookie = setCookie.split(';')[0]!;
  for (let i = 0; i < 6; i++) {
    const r = await get(c, mesh.url('test/by-cookie:80'), { method: 'GET', headers: { cookie } });
    assert.equal(r.body, first.body, 'the cookie pins the endpoint');
    assert.equal(r.headers['set-cookie'], undefined, 'a valid cookie is not set again');
  }

  assert.equal(applied(mesh, 'test/deadline:80').route?.requestTimeoutMs, 200);
  const late = await get(c, mesh.url('test/deadline:80'));
  assert.equal(late.status, 504);
  assert.match(late.body, /test\/deadline:80 did not complete the request in time/);
});
