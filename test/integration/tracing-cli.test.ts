/**
 * `hostmesh standalone --trace-collector URL --trace-sampling R` as a user runs it: spans of
 * proxied requests reach a local OTLP receiver with the process's version and node; a bad ratio
 * or URL is a usage error naming the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { attrs, receiver } from '../support/otlp-receiver.ts';
import { service } from '../support/standalone.ts';
import { until } from '../support/until.ts';
import { REPO, adminUrl, bannerRoutes, childPortRange, runCli, spawnCli } from './cli-process.ts';

test('standalone exports a span per request to --trace-collector at --trace-sampling 1', async (t) => {
  const rx = await receiver(t);
  const web = await httpBackend(t, (_req, res) => res.end('ok'));
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'web.yaml'), service('web', { ports: [web.port] }));
  const p = spawnCli(t, ['standalone', '--manifests', dir, '--admin', '127.0.0.1:0', '--port-range', childPortRange(0), '--trace-collector', rx.url, '--trace-sampling', '1']);
  await adminUrl(p);
  const port = bannerRoutes(p.stdout).get('test/web:80')!;
  const c = client(t);
  for (let i = 0; i < 3; i++) assert.equal((await get(c, `http://127.0.0.1:${port}/n${i}`)).status, 200);
  // The exporter sends within a second (its batch delay).
  await until('three spans', () => rx.spans.length === 3);
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  assert.deepEqual(rx.resources[0], { 'service.name': 'hostmesh-proxy', 'service.version': version, 'host.name': 'standalone' });
  assert.deepEqual(rx.spans.map((s) => attrs(s)['url.path']).toSorted(), ['/n0', '/n1', '/n2']);
  await p.stop();
});

test('a bad --trace-sampling or --trace-collector is a usage error naming the flag', async (t) => {
  for (const [flag, value] of [['--trace-sampling', '1.5'], ['--trace-collector', 'otel:4318']] as const) {
    const r = await runCli(t, ['standalone', '--manifests', '.', `${flag}=${value}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${flag}: "${value.replace('.', '\\.')}"`));
  }
});
