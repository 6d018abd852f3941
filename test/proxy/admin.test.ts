import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AdminServer } from '../../src/proxy/admin.ts';
import { createLogger } from '../../src/common/log.ts';
import type { ProxyEngine } from '../../src/proxy/engine.ts';
import { client, engine, freePort, get, namedBackend, rawExchange, svc, table, tinyTcpForwarder } from './helpers.ts';

async function admin(t: TestContext, e: ProxyEngine, token?: string): Promise<string> {
  const a = new AdminServer({ source: e, port: 0, token, log: createLogger('test', 'silent') });
  await a.listen();
  t.after(() => a.close());
  return `http://127.0.0.1:${a.port}`;
}

test('health, readiness, metrics and 404/405', async (t) => {
  const e = engine(t);
  const base = await admin(t, e);
  const c = client(t);
  assert.deepEqual([(await get(c, `${base}/healthz`)).status, (await get(c, `${base}/healthz`)).body], [200, 'ok\n']);
  const notReady = await get(c, `${base}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /no routing table applied yet/);
  assert.equal((await get(c, `${base}/nope`)).status, 404);
  const post = await get(c, `${base}/healthz`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  assert.equal((await get(c, `${base}/config`)).status, 404, '/config is off without a token');

  const b = await namedBackend(t, 'b');
  const port = await freePort();
  await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port }], 7));
  assert.equal((await get(c, `${base}/readyz`)).status, 200);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  const metrics = await get(c, `${base}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^hostmesh_config_version 7$/m);
  assert.match(metrics.body, /^hostmesh_requests_total\{destination_namespace="test",destination_service="web",destination_port="80",backend="web",code="200",method="GET"\} 1$/m);
});

test('/config needs the bearer token and shows the applied table with its digest', async (t) => {
  const e = engine(t);
  const base = await admin(t, e, 's3cret-token');
  const c = client(t);
  const b = await namedBackend(t, 'b');
  const port = await freePort();
  const tbl = table([{ cluster: svc('web', [b.port]), listenPort: port }], 3);
  await e.apply(tbl);
  for (const auth of [undefined, 'Bearer wrong', 'Basic czNjcmV0LXRva2Vu', 'Bearer s3cret-token-and-more', 'Bearer']) {
    const r = await get(c, `${base}/config`, { method: 'GET', headers: auth ? { authorization: auth } : {} });
    assert.equal(r.status, 401, String(auth));
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="hostmesh-proxy"');
    assert.ok(!r.body.includes('127.0.0.1'));
  }
  const ok = await get(c, `${base}/config`, { method: 'GET', headers: { authorization: 'Bearer s3cret-token' } });
  assert.equal(ok.status, 200);
  const body = JSON.parse(ok.body) as { version: number; digest: string; appliedAt: string; table: unknown };
  assert.equal(body.version, 3);
  assert.equal(body.digest, e.current!.digest);
  assert.ok(!Number.isNaN(Date.parse(body.appliedAt)));
  assert.deepEqual(body.table, JSON.parse(JSON.stringify(tbl)));
});

test('/v1/routes lists service ports, listen addresses, protocols and endpoint counts', async (t) => {
  const e = engine(t, { l4: { tcp: tinyTcpForwarder } });
  const base = await admin(t, e);
  const c = client(t);
  const b = await namedBackend(t, 'b');
  const [p1, p2] = [await freePort(), await freePort()];
  await e.apply(table([{ cluster: svc('web', [b.port, b.port + 1]), listenPort: p1 }, { cluster: svc('db', [b.port], { protocol: 'tcp' }), listenPort: p2 }]));
  const text = await get(c, `${base}/v1/routes`);
  assert.equal(text.status, 200);
  const lines = text.body.trim().split('\n');
  assert.ok(lines.includes(`test/web:80 -> 127.0.0.1:${p1} http test/web:80 endpoints=2`), text.body);
  assert.ok(lines.includes(`test/db:80 -> 127.0.0.1:${p2} tcp test/db:80 endpoints=1`), text.body);
  const json = await get(c, `${base}/v1/routes`, { method: 'GET', headers: { accept: 'application/json' } });
  const routes = (JSON.parse(json.body) as { routes: { route: string; listen: string; protocol: string; endpoints: number }[] }).routes;
  assert.deepEqual(routes.find((r) => r.route === 'test/web:80'), {
    route: 'test/web:80', protocol: 'http', listen: `127.0.0.1:${p1}`, endpoints: 2, backends: [{ cluster: 'test/web:80', weight: 1, endpoints: 2 }],
  });
  assert.equal((await get(c, `${base}/v1/routes?format=json`)).headers['content-type'], 'application/json');
});

test('malformed requests never take the admin server down', async (t) => {
  const e = engine(t);
  const base = await admin(t, e, 'tok');
  const port = Number(new URL(base).port);
  const c = client(t);
  await fc.assert(fc.asyncProperty(
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(fc.constantFrom('GET', 'HEAD', 'POST', 'BREW', ''), fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }))
        .map(([m, path, h]) => `${m} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${h}\r\n\r\n`),
    ),
    async (raw) => {
      const out = await rawExchange(port, `${raw}\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 5000);
      assert.match(out, /^(HTTP\/1\.1 \d{3}|$)/);
    },
  ), { numRuns: 60 });
  assert.equal((await get(c, `${base}/healthz`)).status, 200);
  assert.equal((await get(c, `${base}/config?x=%zz`, { method: 'GET', headers: { authorization: 'Bearer \u00ff' } })).status, 401);
});
