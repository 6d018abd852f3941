/**
 * `hostmesh check` and `hostmesh cleanup` against a running mesh: check reads the controller's
 * status (proxies, translation and controller diagnostics) and a manifest directory offline;
 * cleanup removes the DNS patch and the shadows the controller made, idempotently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { runCheckCommand } from '../../src/cli/check.ts';
import type { CheckCommandOptions } from '../../src/cli/check.ts';
import { runCleanupCommand } from '../../src/cli/cleanup.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import type { ControllerStatus } from '../../src/table/index.ts';
import { seedDns } from '../controller/controller-harness.ts';
import { service } from '../support/kube.ts';
import { eventually, log, MESH_NAMESPACE, startMesh, TOKEN, webService } from './mesh.ts';

async function check(opts: Partial<CheckCommandOptions>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runCheckCommand({ json: false, log, out: (l) => lines.push(l), ...opts });
  return { code, text: lines.join('\n') };
}

function manifestDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('check --controller: every proxy, every diagnostic, exit 1 when something needs attention', async (t) => {
  const mesh = await startMesh(t);
  const controller = new URL(mesh.controllerUrl);
  let r = await check({ controller, token: TOKEN });
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /^node-1 +yes +1 +0 +ok$/m);
  assert.match(r.text, /^node-3 +yes +1 +0 +ok$/m);
  assert.match(r.text, /^ok: every proxy serves version 1; no configuration problems$/m);
  const json = await check({ controller, token: TOKEN, json: true });
  assert.equal(json.code, 0);
  assert.deepEqual((JSON.parse(json.text) as ControllerStatus).proxies.map((p) => p.node), ['node-1', 'node-2', 'node-3']);

  await assert.rejects(check({ controller, token: 'wrong' }), (e) => isHostmeshError(e, 'CHECK_UNAUTHORIZED'));
  await assert.rejects(check({ controller }), (e) => isHostmeshError(e, 'CLI_USAGE') && /--token-file/.test(e.message));

  // A bad expression: the diagnostic with its caret, and exit 1.
  mesh.fake.create('services', webService('shop', 'web', { 'hostmesh.io/retry-on': "method('GET') ||" }));
  await eventually('the diagnostic', async () => (await mesh.status()).diagnostics.length > 0);
  // Settled: the shadow's ClusterIP is in mesh DNS (one more version) and every proxy has it.
  await mesh.everyProxy('web in mesh DNS', (tb) => tb.dns.services.length === 1);
  await mesh.converged();
  r = await check({ controller, token: TOKEN });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /^error annotation-invalid-expression: Service shop\/web hostmesh\.io\/retry-on$/m);
  assert.match(r.text, /\n {4}method\('GET'\) \|\|\n {4}\s*\^\n/);
  assert.match(r.text, /^needs attention: 1 error, 1 warning$/m);

  // A stopped proxy is disconnected: exit 1, and the row says so.
  mesh.fake.delete('services', 'web', 'shop');
  await mesh.everyProxy('web gone', (tb) => tb.routes.length === 0);
  await mesh.converged();
  await mesh.proxies[1]!.stop();
  r = await eventually('the disconnected proxy', async () => {
    const x = await check({ controller, token: TOKEN });
    return x.code === 1 ? x : undefined;
  });
  assert.match(r.text, /^node-2 +no +\d+ .*disconnected$/m);
  assert.match(r.text, /^needs attention: proxy node-2 disconnected$/m);
});

test('the controller\'s own diagnostics are in /v1/status; cleanup removes the DNS patch and the shadows', async (t) => {
  const mesh = await startMesh(t, { proxies: 1, controller: { patchDns: true, dnsService: 'hostmesh-dns' } });
  const { fake } = mesh;
  seedDns(fake, 'kubeadm');
  const missing = await eventually('DNS_SERVICE_MISSING', async () => (await mesh.status()).diagnostics.find((d) => d.code === 'DNS_SERVICE_MISSING'));
  assert.equal(missing.object.name, 'hostmesh-dns');
  const r = await check({ controller: new URL(mesh.controllerUrl), token: TOKEN });
  assert.equal(r.code, 1);
  assert.match(r.text, /^warning DNS_SERVICE_MISSING: Service hostmesh\/hostmesh-dns$/m);

  // The DNS Service appears: the Corefile is patched; two meshed Services get shadows.
  fake.create('services', service(MESH_NAMESPACE, 'hostmesh-dns', { ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] }));
  fake.create('services', webService('shop', 'web'));
  fake.create('services', webService('shop', 'api'));
  const corefile = (): string => fake.get<V1ConfigMap>('configmaps', 'coredns', 'kube-system').data?.Corefile ?? '';
  await eventually('the DNS patch', async () => corefile().includes('hostmesh begin'));
  await eventually('the shadows', async () => fake.list<ServiceObject>('services', MESH_NAMESPACE).length === 3);
  // Only the notes that the SMI CRDs are not installed (the fake serves none) are left.
  await eventually('no diagnostics but the crd-absent notes', async () => (await mesh.status()).diagnostics.every((d) => d.severity === 'info' && d.code === 'crd-absent'));
  await mesh.proxies[0]!.stop();
  await mesh.stopController();

  const run = async (): Promise<{ code: number; out: string[]; err: string[] }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCleanupCommand({ kubeConfig: fake.kubeconfig(), meshNamespace: MESH_NAMESPACE, dnsService: 'hostmesh-dns', zones: ['hostmesh'], log, out: (l) => out.push(l), err: (l) => err.push(l), backoff: { minMs: 5, maxMs: 20 } });
    return { code, out, err };
  };
  // A refused delete: exit 1, the error printed, the rest done anyway.
  fake.failNext('delete', { resource: 'services', code: 403 });
  let c = await run();
  assert.equal(c.code, 1);
  assert.deepEqual(c.out.filter((l) => l.startsWith('removed')), ['removed the DNS patch: update ConfigMap kube-system/coredns']);
  assert.equal(c.out.filter((l) => l.startsWith('deleted shadow Service hostmesh/')).length, 1);
  assert.match(c.err[0] ?? '', /^error: shadow Service not deleted: .*403/);
  assert.match(c.err.at(-1) ?? '', /^cleanup incomplete: 1 problem/);
  assert.ok(!corefile().includes('hostmesh'), corefile());

  c = await run();
  assert.deepEqual([c.code, c.err], [0, []]);
  assert.equal(c.out.length, 2, c.out.join('\n'));
  assert.match(c.out[0]!, /^deleted shadow Service hostmesh\//);
  assert.equal(c.out[1], 'cleanup complete: 0 DNS write(s), 1 shadow Service(s) deleted');
  assert.deepEqual(fake.list<ServiceObject>('services', MESH_NAMESPACE).map((s) => s.metadata.name), ['hostmesh-dns'], 'only the chart\'s own Service is left');

  c = await run();
  assert.deepEqual([c.code, c.out, c.err], [0, ['nothing to remove: no DNS patch (cluster DNS: corefile), no shadow Services in namespace hostmesh'], []]);
});

test('check --manifests: offline translation, every diagnostic with the expression caret, exit codes', async (t) => {
  const good = manifestDir(t, { 'web.yaml': `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, annotations: { hostmesh.io/retry-count: "2" } }
spec: { ports: [{ name: http, port: 80 }] }
` });
  let r = await check({ manifests: good });
  assert.equal(r.code, 0, r.text);
  assert.equal(r.text, `${good}: 1 manifest file(s), 1 Service(s), 1 route(s)\nok: no problems found`);

  const bad = manifestDir(t, {
    'web.yaml': `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    mesh.traefik.io/circuit-breaker-expression: "NetworkErrorRatio() > 'high'"
    hostmesh.io/dial-timeout: "3 seconds"
spec: { ports: [{ name: http, port: 80 }] }
`,
    'broken.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { namespace: shop }\nspec: {}\n',
  });
  r = await check({ manifests: bad });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /^error annotation-invalid-expression: Service shop\/web mesh\.traefik\.io\/circuit-breaker-expression$/m);
  // The source line, then a caret under the column the error names (the string operand).
  const lines = r.text.split('\n');
  const src = lines.findIndex((l) => l === "    NetworkErrorRatio() > 'high'");
  assert.ok(src > 0, r.text);
  assert.equal(lines[src + 1], `    ${' '.repeat("NetworkErrorRatio() > ".length)}^`);
  assert.match(r.text, /^error annotation-invalid: Service shop\/web hostmesh\.io\/dial-timeout$/m);
  assert.match(r.text, /broken\.yaml:1$/m);
  assert.match(r.text, /^problems: \d+ errors?, \d+ warnings?$/m);

  const json = await check({ manifests: bad, json: true });
  assert.equal(json.code, 1);
  const data = JSON.parse(json.text) as { files: number; diagnostics: { code: string }[] };
  assert.equal(data.files, 2);
  assert.ok(data.diagnostics.some((d) => d.code === 'annotation-invalid-expression'));

  // A file that is not YAML at all is one more problem: every other problem is still reported.
  const unparseable = manifestDir(t, {
    'web.yaml': `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, annotations: { hostmesh.io/dial-timeout: "3 seconds" } }
spec: { ports: [{ name: http, port: 80 }] }
`,
    'garbage.yaml': 'kind: Service\nmetadata: [unclosed\n',
  });
  r = await check({ manifests: unparseable });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /garbage\.yaml:\d+: not valid YAML: .*; nothing from it is used/);
  assert.match(r.text, /^error annotation-invalid: Service shop\/web hostmesh\.io\/dial-timeout$/m);
  assert.match(r.text, /: 2 manifest file\(s\), 1 Service\(s\), 1 route\(s\)$/m);

  await assert.rejects(check({}), (e) => isHostmeshError(e, 'CLI_USAGE'));
  await assert.rejects(check({ manifests: good, controller: new URL('http://127.0.0.1:1') }), (e) => isHostmeshError(e, 'CLI_USAGE'));
  await assert.rejects(check({ manifests: join(good, 'missing') }), (e) => isHostmeshError(e));
});
