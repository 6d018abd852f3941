/**
 * Traffic split end to end: `hostmesh standalone` over live-edited manifests with real backends
 * on loopback. Expression splits (the Caddy Mesh workflow) and weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { CHROME, FIREFOX, countVersions, versionBackend } from './versions-support.ts';

test('the Caddy Mesh README workflow, annotations unchanged, edited live: false, Chrome only, true', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const caddySplit = (expression: string) => service('server', {
    ports: [v1],
    annotations: {
      'mesh.caddyserver.com/traffic-split-expression': expression,
      'mesh.caddyserver.com/traffic-split-new-service': 'server-v2',
      'mesh.caddyserver.com/traffic-split-old-service': 'server-v1',
    },
  });
  const mesh = await withStandalone(t, {
    'server.yaml': caddySplit('false'),
    'server-v1.yaml': service('server-v1', { ports: [v1] }),
    'server-v2.yaml': service('server-v2', { ports: [v2] }),
  });
  const agent = client(t);
  const url = `${mesh.url('test/server:80')}/api`;
  const round = async () => ({
    chrome: Object.fromEntries(await countVersions(agent, url, 40, { 'user-agent': CHROME })),
    firefox: Object.fromEntries(await countVersions(agent, url, 40, { 'user-agent': FIREFOX })),
  });

  assert.deepEqual(await round(), { chrome: { v1: 40 }, firefox: { v1: 40 } }, '"false": everything stays on v1');

  await mesh.write('server.yaml', caddySplit("header({'User-Agent': '*Chrome*'})"));
  assert.deepEqual(await round(), { chrome: { v2: 40 }, firefox: { v1: 40 } }, 'Chrome users move to v2');

  await mesh.write('server.yaml', caddySplit('true'));
  assert.deepEqual(await round(), { chrome: { v2: 40 }, firefox: { v2: 40 } }, '"true": everything on v2');

  // The routing table was applied without "not enforced" warnings: the rule is live.
  const diagnostics = mesh.mesh.diagnostics().filter((d) => d.severity !== 'info');
  assert.deepEqual(diagnostics, []);
});

test('weights 1:2 over 3,000 requests; a weight of 0 gets nothing', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const v3 = await versionBackend(t, 'v3');
  const mesh = await withStandalone(t, {
    'server.yaml': service('server', { annotations: { 'hostmesh.io/traffic-split-weights': 'server-v1=1,server-v2=2,server-v3=0' } }),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
    'v3.yaml': service('server-v3', { ports: [v3] }),
  });
  const counts = await countVersions(client(t), mesh.url('test/server:80'), 3000, {}, 30);
  const n1 = counts.get('v1') ?? 0;
  const n2 = counts.get('v2') ?? 0;
  assert.equal(n1 + n2, 3000, `only v1 and v2 answer: ${JSON.stringify(Object.fromEntries(counts))}`);
  assert.equal(counts.get('v3'), undefined, 'weight 0 gets nothing');
  assert.ok(Math.abs(n2 / n1 - 2) <= 0.1, `v2:v1 is 2 within 5%: ${n2}:${n1}`);
});
