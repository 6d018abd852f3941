/**
 * Live stats, tap, top and the dashboard through a controller and two proxies: the proxies
 * report to the controller (POST /v1/report, beside the watch), the controller sums the last
 * minute, and `hostmesh tap` / `hostmesh top` (real CLI processes) follow the controller's
 * /v1/tap while traffic goes through both proxies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startDemoBackend } from '../../src/demo/backend.ts';
import type { DashboardView } from '../../src/controller/dashboard/view.ts';
import type { LiveStats, TapEvent } from '../../src/table/live.ts';
import { runCli } from '../integration/cli-process.ts';
import { trafficUntil } from '../support/traffic.ts';
import { backendSlice, eventually, get, startMesh, TOKEN, webService } from './mesh.ts';
import type { Mesh } from './mesh.ts';

async function liveMesh(t: TestContext): Promise<{ mesh: Mesh; tokenFile: string }> {
  const [v1, v2] = await Promise.all([startDemoBackend({ name: 'web-v1', version: 'v1', host: '127.0.0.1', port: 0 }), startDemoBackend({ name: 'web-v2', version: 'v2', host: '127.0.0.1', port: 0 })]);
  t.after(() => Promise.all([v1.close(), v2.close()]));
  const mesh = await startMesh(t, { proxies: 2, controller: { tuning: { backoff: { minMs: 10, maxMs: 200 }, translateCoalesceMs: 5, coalesceMs: 10, maxDelayMs: 50, heartbeatMs: 2000, instance: 'e2e-controller', live: { reportMs: 200, tapReportMs: 100 } } } });
  const { fake } = mesh;
  fake.create('services', webService('shop', 'web', { 'hostmesh.io/traffic-split-weights': 'web-v1=50,web-v2=50' }));
  fake.create('services', webService('shop', 'web-v1'));
  fake.create('services', webService('shop', 'web-v2'));
  fake.create('endpointslices', backendSlice('shop', 'web-v1', 'web-v1-a', v1.port));
  fake.create('endpointslices', backendSlice('shop', 'web-v2', 'web-v2-a', v2.port));
  await mesh.everyProxy('shop/web split', (table) => table.routes.some((r) => r.id === 'shop/web:80' && r.backends.length === 2));
  await mesh.converged();
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  return { mesh, tokenFile };
}

/** A request on a new connection (spread over the proxies by SO_REUSEPORT). */
function webRequest(mesh: Mesh, path: string): Promise<unknown> {
  return get(mesh.url('shop/web:80', path));
}

test('the controller sums live stats from every proxy and serves them on /v1/stats and the dashboard', async (t) => {
  const { mesh } = await liveMesh(t);
  for (let i = 0; i < 40; i++) assert.equal((await get(mesh.url('shop/web:80', '/hello'))).status, 200);
  const auth = { authorization: `Bearer ${TOKEN}` };
  const stats = await eventually('40 requests in the controller\'s stats', async () => {
    const res = await get(`${mesh.controllerUrl}/v1/stats`, auth);
    const s = JSON.parse(res.body) as LiveStats;
    return s.routes.find((r) => r.route === 'shop/web:80')?.requests === 40 && s.proxies.length === 2 ? s : undefined;
  });
  const web = stats.routes.find((r) => r.route === 'shop/web:80')!;
  assert.equal(web.successRate, 1);
  assert.deepEqual(web.backends.map((b) => b.backend), ['web-v1', 'web-v2']);
  assert.equal(web.backends.reduce((n, b) => n + b.requests, 0), 40);
  // Smooth weighted round robin per proxy: each proxy alternates, so the shares are near 50/50.
  for (const b of web.backends) assert.ok(b.share >= 0.3 && b.share <= 0.7, `${b.backend} share ${b.share}`);
  assert.deepEqual(stats.proxies.map((p) => p.node).toSorted(), ['node-1', 'node-2']);
  assert.equal((await get(`${mesh.controllerUrl}/v1/stats`)).status, 401);

  // The dashboard: login with the token sets an HttpOnly cookie; the state lists Services and proxies.
  const page = await fetch(`${mesh.controllerUrl}/dashboard`, { redirect: 'manual' });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/dashboard/login');
  const wrong = await fetch(`${mesh.controllerUrl}/dashboard/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  const login = await fetch(`${mesh.controllerUrl}/dashboard/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^hostmesh-session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/dashboard; Max-Age=\d+$/);
  assert.ok(!cookie.includes(TOKEN));
  const session = cookie.split(';')[0]!;
  const view = await (await fetch(`${mesh.controllerUrl}/dashboard/state`, { headers: { cookie: session } })).json() as DashboardView;
  const port = view.services.find((s) => s.id === 'shop/web')!.ports[0]!;
  assert.deepEqual(port.rules.at(-1)!.backends.map((b) => [b.cluster, b.weight]), [['shop/web-v1:80', 50], ['shop/web-v2:80', 50]]);
  assert.equal(port.successRate, 1);
  assert.deepEqual(view.proxies.map((p) => [p.node, p.health]).toSorted(), [['node-1', 'ok'], ['node-2', 'ok']]);
  assert.ok(view.proxies.every((p) => /^\d+\.\d+\.\d+/.test(p.software)));
  assert.equal((await fetch(`${mesh.controllerUrl}/dashboard/state`, { headers: { cookie: 'hostmesh-session=forged' } })).status, 401);
  // Logging out ends the session.
  await fetch(`${mesh.controllerUrl}/dashboard/logout`, { method: 'POST', headers: { cookie: session }, redirect: 'manual' });
  assert.equal((await fetch(`${mesh.controllerUrl}/dashboard/state`, { headers: { cookie: session } })).status, 401);
});

test('hostmesh tap and top follow the controller while traffic goes through every proxy', async (t) => {
  const { mesh, tokenFile } = await liveMesh(t);
  const tap = runCli(t, ['tap', 'shop/web:80', '--controller', mesh.controllerUrl, '--token-file', tokenFile, '--path', '/tapped', '--max', '30', '--json']);
  const out = await trafficUntil((i) => webRequest(mesh, i % 2 === 0 ? `/tapped/${i}` : `/other/${i}`), tap);
  assert.equal(out.code, 0, out.stderr);
  const events = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
  assert.equal(events.length, 30);
  assert.ok(events.every((e) => e.path.startsWith('/tapped/') && e.status === 200 && e.route === 'shop/web:80'));
  assert.deepEqual([...new Set(events.map((e) => e.node))].toSorted(), ['node-1', 'node-2'], 'events from both proxies');
  assert.deepEqual([...new Set(events.map((e) => e.backend))].toSorted(), ['web-v1', 'web-v2']);
  assert.ok(events.every((e) => /^127\.0\.0\.1:\d+$/.test(e.endpoint)));

  const top = runCli(t, ['top', 'shop/web', '--controller', mesh.controllerUrl, '--token-file', tokenFile, '--duration', '4s', '--interval', '1m']);
  const table = await trafficUntil((i) => webRequest(mesh, i % 3 === 0 ? '/rare' : '/busy'), top);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trim().split('\n');
  assert.match(rows[2]!, /^GET\s+\/busy\s+\d+\s+100\.0%/);
  assert.match(rows[3]!, /^GET\s+\/rare\s+\d+\s+100\.0%/);
});
