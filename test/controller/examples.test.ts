/** The standalone examples must stay valid: they are what a new user runs first. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLE_FORMAT, formatProblems, validateTable } from '../../src/table/index.ts';
import { loadManifests } from '../../src/controller/source/manifests.ts';
import { translate } from '../../src/controller/translation/translate.ts';
import { emptyMemory } from '../../src/controller/translation/types.ts';

const EXAMPLES = new URL('../../examples/standalone', import.meta.url).pathname;

test('examples/standalone loads and translates without a single diagnostic', async () => {
  const snapshot = await loadManifests(EXAMPLES);
  assert.deepEqual(snapshot.diagnostics, []);
  const r = translate({ state: snapshot.state, memory: emptyMemory(), ports: new Map(), options: { mode: 'standalone', portRange: [15000, 15099] } });
  assert.deepEqual(r.diagnostics, []);
  const v = validateTable({ format: TABLE_FORMAT, epoch: 'e', version: 1, generatedAt: new Date(0).toISOString(), ...r.content });
  assert.ok(v.ok, v.ok ? '' : formatProblems(v.problems));

  const route = (id: string) => r.content.routes.find((x) => x.id === id);
  const cluster = (id: string) => r.content.clusters.find((x) => x.id === id);
  assert.deepEqual(cluster('demo/echo:80')?.endpoints, [{ address: '127.0.0.1', port: 8080 }]);
  assert.deepEqual(route('demo/web:80')?.backends, [{ cluster: 'demo/web-v1:80', weight: 90 }, { cluster: 'demo/web-v2:80', weight: 10 }]);
  assert.deepEqual(cluster('demo/web-v2:80')?.endpoints, [{ address: '127.0.0.1', port: 9002 }]);
  assert.equal(route('demo/cache:6379')?.protocol, 'tcp');
});

test('examples/smi (Traefik Mesh\'s whoami, SMI objects unchanged) translates in ACL mode without a warning', async () => {
  const snapshot = await loadManifests(new URL('../../examples/smi', import.meta.url).pathname);
  assert.deepEqual(snapshot.diagnostics, []);
  const r = translate({ state: snapshot.state, memory: emptyMemory(), ports: new Map(), options: { mode: 'standalone', portRange: [15000, 15099], acl: true } });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity !== 'info'), []);
  const v = validateTable({ format: TABLE_FORMAT, epoch: 'e', version: 1, generatedAt: new Date(0).toISOString(), ...r.content });
  assert.ok(v.ok, v.ok ? '' : formatProblems(v.problems));
  const route = (id: string) => r.content.routes.find((x) => x.id === id);
  assert.deepEqual(route('whoami/whoami:80')?.backends, [{ cluster: 'whoami/whoami-v1:80', weight: 80 }, { cluster: 'whoami/whoami-v2:80', weight: 20 }]);
  assert.deepEqual(route('whoami/whoami:80')?.access, { allow: [{
    namespace: 'whoami', serviceAccount: 'whoami-client',
    matches: [{ path: { type: 'RegularExpression', value: '(?:/api).*' } }, { path: { type: 'RegularExpression', value: '(?:/metrics).*' }, methods: ['GET'] }],
    origins: ['TrafficTarget whoami/whoami-client-http'],
  }] });
  assert.deepEqual(route('whoami/whoami-tcp:8080')?.access, { allow: [{ namespace: 'whoami', serviceAccount: 'whoami-client', origins: ['TrafficTarget whoami/api-service-target'] }] });
});
