/** `hostmesh check --pre` and `--cluster` against the fake API server, one line per check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCheckCommand } from '../../src/cli/check.ts';
import type { CheckCommandOptions } from '../../src/cli/check.ts';
import { createLogger } from '../../src/common/log.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { startFakeApiServer } from '../support/kube.ts';
import { seedDns } from '../controller/controller-harness.ts';

const LABELS = { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/instance': 'mesh' };

async function run(fake: FakeApiServer, extra: Partial<CheckCommandOptions>): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheckCommand({ json: false, log: createLogger('check-test', 'silent'), out: (l) => lines.push(l), kubeConfig: () => fake.kubeconfig(), namespace: 'hostmesh', zones: ['hostmesh'], ...extra });
  return { code, lines };
}

function namespace(fake: FakeApiServer, labels: Record<string, string> = {}): void {
  fake.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hostmesh', labels } });
}

function installed(fake: FakeApiServer, ready: { controller: number; proxies: [number, number] }): void {
  fake.registerResource({ group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, typedListItems: false });
  fake.create('deployments', {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'mesh-hostmesh-controller', namespace: 'hostmesh', labels: { ...LABELS, 'app.kubernetes.io/component': 'controller' } },
    spec: { replicas: 1, selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    status: { replicas: 1, readyReplicas: ready.controller },
  });
  fake.create('daemonsets', {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'mesh-hostmesh-proxy', namespace: 'hostmesh', labels: { ...LABELS, 'app.kubernetes.io/component': 'proxy' } },
    status: { desiredNumberScheduled: ready.proxies[1], numberReady: ready.proxies[0] },
  });
  fake.create('services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'mesh-hostmesh-dns', namespace: 'hostmesh', labels: { ...LABELS, 'app.kubernetes.io/component': 'proxy' } },
    spec: { clusterIP: '10.96.0.53', ports: [{ name: 'dns-udp', port: 53, protocol: 'UDP' }] },
  });
}

test('--pre on a fresh kubeadm cluster: every check passes, one line each', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'kubeadm');
  const r = await run(fake, { pre: true });
  assert.deepEqual(r.lines, [
    '✔ can reach the Kubernetes API (v1.33.0-fake)',
    '✔ namespace hostmesh does not exist yet (helm --create-namespace makes it; then: kubectl label namespace hostmesh pod-security.kubernetes.io/enforce=baseline)',
    '✔ cluster DNS can forward hostmesh to the proxies (corefile)',
    '✔ no CustomResourceDefinitions needed (SMI and Gateway API objects are not read yet)',
    'ok: 4 checks passed',
  ]);
  assert.equal(r.code, 0);
});

test('--pre reports what would stop an install: a zone conflict, a bad Pod Security label, no cluster DNS', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'zone-conflict');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'strict' });
  const r = await run(fake, { pre: true });
  assert.equal(r.code, 1);
  assert.match(r.lines[1]!, /^✖ namespace hostmesh: pod-security\.kubernetes\.io\/enforce=strict is not a Pod Security level/);
  assert.match(r.lines[2]!, /^✖ .*hostmesh/, r.lines.join('\n'));
  assert.equal(r.lines.at(-1), 'problems: 2 failed, 0 warnings');

  const empty = await startFakeApiServer(t);
  const none = await run(empty, { pre: true });
  assert.match(none.lines[2]!, /^✖ no CoreDNS Corefile and no kube-dns found/);
});

test('--cluster on an installed release: workloads ready, DNS patched for the proxies\' Service, Pod Security label', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'already-patched');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'baseline' });
  installed(fake, { controller: 1, proxies: [3, 3] });
  const r = await run(fake, { cluster: true });
  assert.deepEqual(r.lines, [
    '✔ can reach the Kubernetes API (v1.33.0-fake)',
    '✔ namespace hostmesh enforces Pod Security baseline, which admits the chart\'s defaults (proxy.stateHostPath and proxy.stateDirInit need privileged)',
    '✔ controller hostmesh/mesh-hostmesh-controller is ready',
    '✔ proxies hostmesh/mesh-hostmesh-proxy: 3 of 3 ready',
    '✔ cluster DNS forwards hostmesh to the proxies\' DNS Service 10.96.0.53 (corefile)',
    '✔ no CustomResourceDefinitions needed (SMI and Gateway API objects are not read yet)',
    'ok: 6 checks passed',
  ]);
  assert.equal(r.code, 0);
});

test('--cluster: a proxy not ready, an unpatched DNS and a missing label are reported; the exit code is 1', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'kubeadm');
  namespace(fake);
  installed(fake, { controller: 0, proxies: [2, 3] });
  const r = await run(fake, { cluster: true });
  assert.equal(r.code, 1);
  assert.match(r.lines[1]!, /^! namespace hostmesh enforces no Pod Security level/);
  assert.equal(r.lines[2], '✖ controller hostmesh/mesh-hostmesh-controller is not ready (0 of 1 replicas)');
  assert.equal(r.lines[3], '✖ proxies hostmesh/mesh-hostmesh-proxy: 2 of 3 ready');
  assert.match(r.lines[4]!, /^✖ cluster DNS does not forward hostmesh to 10\.96\.0\.53 yet \(corefile: update ConfigMap kube-system\/coredns pending/);
  assert.equal(r.lines.at(-1), 'problems: 3 failed, 1 warning');
});

test('--cluster without an API server: one failed line, exit 1', async (t) => {
  const fake = await startFakeApiServer(t);
  const kc = fake.kubeconfig();
  await fake.stop();
  const lines: string[] = [];
  const code = await runCheckCommand({ json: false, log: createLogger('check-test', 'silent'), out: (l) => lines.push(l), kubeConfig: () => kc, namespace: 'hostmesh', zones: ['hostmesh'], cluster: true });
  assert.equal(code, 1);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^✖ cannot reach the Kubernetes API at http/);
});
