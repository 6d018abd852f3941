/**
 * The command wiring's own parsing and start-up errors, in-process: the proxy selector, cluster
 * credentials, the proxy's and controller's start-up checks, and what `check` prints for a
 * controller status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { formatStatus, proxyProblem } from '../../src/cli/check-format.ts';
import { parseProxySelector, startControllerCommand } from '../../src/cli/controller.ts';
import { loadKubeConfig } from '../../src/cli/kubeconfig.ts';
import { startProxyCommand } from '../../src/cli/proxy.ts';
import type { ProxyCommandOptions } from '../../src/cli/proxy.ts';
import { createLogger } from '../../src/common/log.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import type { ControllerStatus, ProxyStatus } from '../../src/table/index.ts';

const log = createLogger('cli-test', 'silent');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('proxy selector: label keys and values, checked like Kubernetes does', () => {
  assert.deepEqual(parseProxySelector('app.kubernetes.io/name=hostmesh, app.kubernetes.io/component=proxy'),
    { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/component': 'proxy' });
  assert.deepEqual(parseProxySelector('tier=Edge_1.a'), { tier: 'Edge_1.a' });
  for (const [bad, why] of [
    ['app', /"app" without "="/], ['app=', /"" for app, which is not a label value/], ['=x', /"", which is not a label key/],
    ['app=a,app=b', /names app twice/], ['a/b/c=d', /not a label key/], ['Example.com/x=y', /not a label key/],
    ['app=-x', /not a label value/], [`app=${'v'.repeat(64)}`, /not a label value/], ['app=x,', /"" without "="/],
  ] as const) {
    assert.throws(() => parseProxySelector(bad), (e) => isHostmeshError(e, 'CLI_USAGE') && why.test(e.message), bad);
  }
});

test('proxy selector: valid selectors round-trip; anything else is a usage error, never a crash', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/);
  const prefix = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}$/);
  const key = fc.tuple(fc.option(prefix, { nil: undefined }), name).map(([p, n]) => (p === undefined ? n : `${p}/${n}`));
  fc.assert(fc.property(fc.dictionary(key, name, { minKeys: 1, maxKeys: 5 }), (labels) => {
    const text = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
    assert.deepEqual(parseProxySelector(text), { ...labels });
  }));
  fc.assert(fc.property(fc.string(), (text) => {
    try {
      parseProxySelector(text);
    } catch (e) {
      assert.ok(isHostmeshError(e, 'CLI_USAGE'), String(e));
    }
  }));
});

test('kubeconfig: the flag, $KUBECONFIG, ~/.kube/config; every failure is one clear error', (t) => {
  const dir = tempDir(t);
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://10.0.0.1:6443' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  writeFileSync(join(dir, 'good'), kc.exportConfig());
  writeFileSync(join(dir, 'no-context'), 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  assert.equal(loadKubeConfig(join(dir, 'good')).getCurrentCluster()?.server, 'https://10.0.0.1:6443');
  assert.throws(() => loadKubeConfig(join(dir, 'missing')), (e) => isHostmeshError(e, 'KUBECONFIG_UNREADABLE') && e.message.includes(join(dir, 'missing')));
  assert.throws(() => loadKubeConfig(join(dir, 'no-context')), (e) => isHostmeshError(e, 'KUBECONFIG_NO_CLUSTER'));

  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST };
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  delete process.env.KUBERNETES_SERVICE_HOST;
  process.env.KUBECONFIG = join(dir, 'good');
  assert.equal(loadKubeConfig(undefined).getCurrentCluster()?.server, 'https://10.0.0.1:6443');
  delete process.env.KUBECONFIG;
  process.env.HOME = join(dir, 'home');
  assert.throws(() => loadKubeConfig(undefined), (e) => isHostmeshError(e, 'KUBECONFIG_MISSING') && /give --kubeconfig FILE/.test(e.message));
});

test('proxy start-up: a bad node name, an unusable state directory and a taken port stop it with a clear error', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), 'not a directory');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const base: ProxyCommandOptions = {
    controllerUrl: 'http://127.0.0.1:1', node: 'node-a', token: 't', stateDir: join(dir, 'state'), bind: '127.0.0.1',
    admin: { host: '127.0.0.1', port: 0 }, dns: { host: '127.0.0.1', port: 0 }, workers: 1, accessLog: false, log,
  };
  await assert.rejects(startProxyCommand({ ...base, node: 'node a' }), (e) => isHostmeshError(e, 'CLI_USAGE'));
  await assert.rejects(startProxyCommand({ ...base, stateDir: join(dir, 'file', 'state') }), (e) => isHostmeshError(e, 'STATE_DIR_UNUSABLE') && e.message.includes(join(dir, 'file', 'state')));
  await assert.rejects(startProxyCommand({ ...base, admin: { host: '127.0.0.1', port: (taken.address() as AddressInfo).port } }), (e) => isHostmeshError(e, 'PROXY_START') && /^cannot listen on 127\.0\.0\.1:\d+ for the admin server: .*EADDRINUSE/.test(e.message));
  // Not ready without a table, and --workers other than 1 runs one engine for now.
  const p = await startProxyCommand({ ...base, workers: 4 });
  t.after(() => p.close());
  const ready = await fetch(`http://127.0.0.1:${p.adminPort}/readyz`);
  assert.equal(ready.status, 503);
});

test('controller start-up: bad options and a taken API port are clear errors', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const base = { token: 't', kubeConfig, meshNamespace: 'hostmesh', proxySelector: { app: 'proxy' }, zones: ['hostmesh'], portRange: [10000, 10999] as const, patchDns: false, log };
  await assert.rejects(startControllerCommand({ ...base, listen: { host: '127.0.0.1', port: 0 }, meshNamespace: 'Mesh_NS' }), (e) => isHostmeshError(e, 'CONTROLLER_BAD_OPTION'));
  await assert.rejects(startControllerCommand({ ...base, listen: { host: '127.0.0.1', port: 0 }, patchDns: true }), (e) => isHostmeshError(e, 'CONTROLLER_BAD_OPTION') && /--dns-service/.test(e.message));
  await assert.rejects(startControllerCommand({ ...base, listen: { host: '127.0.0.1', port: (taken.address() as AddressInfo).port } }),
    (e) => isHostmeshError(e, 'CONTROLLER_LISTEN') && /EADDRINUSE/.test(e.message));
  // An API server that never answers: alive, not ready, and it still stops when asked.
  const c = await startControllerCommand({ ...base, listen: { host: '127.0.0.1', port: 0 }, tuning: { backoff: { minMs: 50, maxMs: 100 } } });
  assert.equal((await fetch(`${c.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${c.url}/readyz`)).status, 503);
  await c.close();
  await assert.rejects(c.ready, (e) => isHostmeshError(e, 'CONTROLLER_STOPPED'));
});

test('check: a proxy needs attention when it refused, is disconnected, has applied nothing, or lags', () => {
  const proxy = (node: string, extra: Partial<ProxyStatus>): ProxyStatus => ({ node, connected: true, appliedEpoch: 'e', appliedVersion: 7, lagVersions: 0, lagMs: 0, lastSeen: '2026-05-01T10:00:00.000Z', ...extra });
  const status: ControllerStatus = {
    epoch: 'e', version: 7, digest: 'd', generatedAt: '2026-05-01T10:00:00.000Z',
    proxies: [
      proxy('a', {}),
      proxy('b', { appliedVersion: 6, lagVersions: 1, lagMs: 12_034, error: 'refused e:7: listener 10017: listen EADDRINUSE' }),
      proxy('c', { connected: false, appliedVersion: 5, lagVersions: 2, lagMs: 95_210 }),
      { node: 'd', connected: true, lagMs: 0, lastSeen: '2026-05-01T10:00:00.000Z' },
      proxy('e', { appliedEpoch: 'old', appliedVersion: 40, lagVersions: 7, lagMs: 300 }),
    ],
    diagnostics: [{ severity: 'warning', code: 'DNS_SERVICE_MISSING', object: { kind: 'Service', namespace: 'hostmesh', name: 'hostmesh-dns' }, message: 'waiting for it' }],
  };
  assert.deepEqual(status.proxies.map(proxyProblem), [undefined, 'refused a table', 'disconnected', 'has applied nothing yet', 'lags']);
  const { lines, problems } = formatStatus('http://ctl:8440', status);
  assert.deepEqual(lines, [
    'controller http://ctl:8440: epoch e, version 7, 5 proxies',
    'NODE  CONNECTED  APPLIED         LAG         STATE                    LAST ERROR',
    'a     yes        7               0           ok',
    'b     yes        6               1 (12.0 s)  refused a table          refused e:7: listener 10017: listen EADDRINUSE',
    'c     no         5               2 (95.2 s)  disconnected',
    'd     yes        -               -           has applied nothing yet',
    'e     yes        40 (epoch old)  7 (0.3 s)   lags',
    'warning DNS_SERVICE_MISSING: Service hostmesh/hostmesh-dns',
    '  waiting for it',
    'needs attention: proxy b refused a table; proxy c disconnected; proxy d has applied nothing yet; proxy e lags; 0 errors, 1 warning',
  ]);
  assert.equal(problems.length, 5);
  const empty = formatStatus('http://ctl:8440', { ...status, version: 0, proxies: [], diagnostics: [] });
  assert.deepEqual(empty.problems, ['the controller has published no table yet (is it still listing the cluster?)', 'no proxy has connected']);
});
