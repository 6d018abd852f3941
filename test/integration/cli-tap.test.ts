/**
 * `hostmesh tap` and `hostmesh top` end to end through standalone: the real CLI (a child
 * process) follows the admin port's /v1/tap while requests go through the in-process proxy.
 * Also: the live stats standalone reports on /v1/stats, and the filters and errors of tap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LiveStats, TapEvent } from '../../src/table/live.ts';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import { trafficUntil } from '../support/traffic.ts';
import { until } from '../support/until.ts';
import { runCli } from './cli-process.ts';
import type { TestContext } from 'node:test';

const TOKEN = 'tap-test-token-a81d';

async function mesh(t: TestContext): Promise<{ fx: StandaloneFixture; tokenFile: string; backendPort: number }> {
  const backend = await httpBackend(t, (req, res) => {
    req.resume();
    res.statusCode = req.url?.startsWith('/fail') ? 503 : 200;
    res.end('ok');
  });
  const fx = await withStandalone(t, { 'web.yaml': service('web', { namespace: 'demo', ports: [backend.port] }) }, { token: TOKEN });
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-tap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  return { fx, tokenFile, backendPort: backend.port };
}

test('tap prints live request summaries from standalone, filtered, and stops after --max', async (t) => {
  const { fx, tokenFile, backendPort } = await mesh(t);
  const base = fx.url('demo/web:80');
  const tap = runCli(t, ['tap', 'demo/web', '--controller', fx.admin, '--token-file', tokenFile, '--path', '/fail', '--method', 'get', '--code', '503', '--max', '3', '--json']);
  const agent = client(t);
  const out = await trafficUntil((i) => get(agent, `${base}/${i % 2 === 0 ? 'fail' : 'ok'}/${i}?secret=1`), tap);
  assert.equal(out.code, 0, out.stderr);
  const events = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
  assert.equal(events.length, 3);
  for (const e of events) {
    assert.equal(e.route, 'demo/web:80');
    assert.equal(e.node, 'standalone');
    assert.equal(e.method, 'GET');
    assert.equal(e.status, 503);
    assert.match(e.path, /^\/fail\/\d+$/, 'the path, without the query');
    assert.equal(e.backend, 'web');
    assert.equal(e.endpoint, `127.0.0.1:${backendPort}`);
    assert.equal(e.client, '127.0.0.1');
    assert.ok(e.latencyMs >= 0);
  }

  // Text output: one line per request.
  const text = runCli(t, ['tap', 'demo/web:80', '--controller', fx.admin, '--token-file', tokenFile, '--max', '2']);
  const plain = await trafficUntil((i) => get(agent, `${base}/plain/${i}`), text);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} standalone demo\/web:80 GET \/plain\/\d+ -> 200 [\d.]+ms backend=web endpoint=127\.0\.0\.1:\d+ client=127\.0\.0\.1$/);
});

test('top shows the busiest paths of a Service from standalone', async (t) => {
  const { fx, tokenFile } = await mesh(t);
  const base = fx.url('demo/web:80');
  const top = runCli(t, ['top', 'demo/web', '--controller', fx.admin, '--token-file', tokenFile, '--duration', '6s', '--interval', '1m', '--rows', '2']);
  // Three paths with shares 3:2:1; the top two are shown, busiest first.
  const agent = client(t);
  const out = await trafficUntil((i) => get(agent, `${base}${['/a', '/a', '/a', '/b', '/b', '/c'][i % 6]}`), top);
  assert.equal(out.code, 0, out.stderr);
  const table = out.stdout.trim().split('\n');
  assert.match(table[0]!, /^busiest paths over \d+ s/);
  assert.match(table[1]!, /^METHOD\s+PATH\s+COUNT\s+SUCCESS\s+P50\s+P99$/);
  assert.equal(table.length, 4, out.stdout);
  assert.match(table[2]!, /^GET\s+\/a\s+\d+\s+100\.0%\s+[\d.]+ms\s+[\d.]+ms$/);
  assert.match(table[3]!, /^GET\s+\/b\s+\d+\s+100\.0%/);
});

test('standalone reports the last minute on /v1/stats; tap and stats need the token; bad taps are 400', async (t) => {
  const { fx, tokenFile } = await mesh(t);
  const agent = client(t);
  for (let i = 0; i < 20; i++) await get(agent, `${fx.url('demo/web:80')}/${i < 5 ? 'fail' : 'ok'}`);
  const auth = { authorization: `Bearer ${TOKEN}` };
  await until('the requests in /v1/stats', async () => {
    const s = await (await fetch(`${fx.admin}/v1/stats`, { headers: auth })).json() as LiveStats;
    return s.routes.find((r) => r.route === 'demo/web:80')?.requests === 20;
  });
  const s = await (await fetch(`${fx.admin}/v1/stats`, { headers: auth })).json() as LiveStats;
  const web = s.routes.find((r) => r.route === 'demo/web:80')!;
  assert.equal(web.successRate, 0.75);
  assert.deepEqual(web.backends.map((b) => [b.backend, b.requests, b.share]), [['web', 20, 1]]);
  assert.ok(web.p50Ms !== null && web.p99Ms !== null && web.p50Ms <= web.p99Ms);
  assert.deepEqual(s.proxies.map((p) => [p.node, p.ready]), [['standalone', true]]);

  assert.equal((await fetch(`${fx.admin}/v1/stats`)).status, 401);
  assert.equal((await fetch(`${fx.admin}/v1/tap?route=demo/web`)).status, 401);
  for (const q of ['route=nope', 'route=demo/web&code=99', 'route=demo/web&path=nope', 'route=demo/web&sample=2', 'route=demo/web&rate=0']) {
    const r = await fetch(`${fx.admin}/v1/tap?${q}`, { headers: auth });
    assert.equal(r.status, 400, q);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'BAD_TAP');
  }
  const bad = await runCli(t, ['tap', 'demo/web', '--controller', fx.admin]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /answered 401: .*check --token-file/);
  const usage = await runCli(t, ['tap', '--controller', fx.admin, '--token-file', tokenFile]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /tap: expected one NS\/SVC\[:PORT\]/);
});
