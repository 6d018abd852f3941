/** Splits are visible: the standalone banner and `/v1/routes` show weights and expression rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpBackend } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';

test('the banner and /v1/routes show weighted and expression splits', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const lines: string[] = [];
  const mesh = await withStandalone(t, {
    'server.yaml': service('server', {
      annotations: {
        'hostmesh.io/traffic-split-expression': "header({'User-Agent': '*Chrome*'})",
        'hostmesh.io/traffic-split-new-service': 'server-v2',
        'hostmesh.io/traffic-split-old-service': 'server-v1',
      },
    }),
    'web.yaml': service('web', { annotations: { 'hostmesh.io/traffic-split-weights': 'web-v1=90,web-v2=10' } }),
    'versions.yaml': [service('server-v1', { ports: [b.port] }), service('server-v2', { ports: [b.port] }), service('web-v1', { ports: [b.port] }), service('web-v2', { ports: [b.port] })].join('---\n'),
  }, { out: (l) => lines.push(l) });

  const banner = (route: string) => lines.flatMap((l) => l.split('\n')).find((l) => l.startsWith(`  ${route} -> `));
  assert.match(banner('test/server:80') ?? lines.join('\n'), /\(http, 1 endpoint; split: if header\(\{'User-Agent': '\*Chrome\*'\}\) -> test\/server-v2:80\)$/);
  assert.match(banner('test/web:80') ?? lines.join('\n'), /\(http, 2 endpoints; split: 90% test\/web-v1:80, 10% test\/web-v2:80\)$/);
  assert.match(banner('test/web-v1:80') ?? lines.join('\n'), /\(http, 1 endpoint\)$/, 'no split, nothing added');

  const text = (await (await fetch(`${mesh.admin}/v1/routes`)).text()).split('\n');
  const server = text.find((l) => l.startsWith('test/server:80 -> '));
  assert.match(server ?? text.join('\n'), / http test\/server-v1:80 endpoints=1; if header\(\{'User-Agent': '\*Chrome\*'\}\) -> test\/server-v2:80$/);
  assert.match(text.find((l) => l.startsWith('test/web:80 -> ')) ?? '', / http test\/web-v1:80 weight=90 endpoints=1, test\/web-v2:80 weight=10 endpoints=1$/);
  const json = await (await fetch(`${mesh.admin}/v1/routes?format=json`)).json() as { routes: { route: string; rules?: unknown }[] };
  assert.deepEqual(json.routes.find((r) => r.route === 'test/server:80')?.rules, [{ match: "header({'User-Agent': '*Chrome*'})", backends: [{ cluster: 'test/server-v2:80', weight: 1 }] }]);
  assert.equal(json.routes.find((r) => r.route === 'test/web:80')?.rules, undefined, 'absent without expression rules');
});
