/**
 * The cluster tier: hostmesh against a real kube-apiserver, etcd and CoreDNS on loopback.
 * `sh test/cluster/run.sh` (not part of `npm test`: the first run builds the components from their
 * Go modules). One cluster is shared by the scenarios below, which run in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION } from '../../src/controller/constants.ts';
import { OPTIONAL_KINDS } from '../../src/controller/source/kubernetes.ts';
import { eventually as pollUntil } from '../e2e/mesh.ts';
import { clusterBinaries, findGo } from './build.ts';
import { crdDocuments, GATEWAY_API, installCrds, smiCrdDocuments } from './crds.ts';
import { Cluster } from './cluster.ts';
import { CoreDns } from './coredns.ts';
import { describeHooks, helmWithHooks, runHostmesh } from './hooks.ts';
import { FULLNAME, httpFrom, httpGet, Mesh, MESH_NAMESPACE, RELEASE } from './mesh.ts';
import type { Proxy } from './mesh.ts';
import { clusterDnsObjects, endpointSliceObject, namespaceObject, serviceObject } from './objects.ts';

const CHART = new URL('../../charts/hostmesh', import.meta.url).pathname;
const APP_NAMESPACE = 'test';
/** Traefik Mesh's ACL example (examples/smi): its SMI objects, in namespace whoami. */
const SMI_EXAMPLE = new URL('../../examples/smi/smi.yaml', import.meta.url).pathname;
const SMI_NAMESPACE = 'whoami';

/**
 * The pod address of the backends. The apiserver refuses loopback addresses in EndpointSlices,
 * so `run.sh` runs this file in a network namespace of its own with this address on its
 * loopback interface.
 */
const POD_IP = process.env['HOSTMESH_CLUSTER_POD_IP'];

/** Client pod addresses of the ACL scenario (run.sh puts them on the same loopback interface). */
const CLIENT_IPS = (process.env['HOSTMESH_CLUSTER_CLIENT_IPS'] ?? '').split(',').filter((ip) => ip !== '');

const bins = await clusterBinaries();
const skip = typeof bins === 'string'
  ? bins
  : POD_IP === undefined
    ? 'no pod address: run the tier with `sh test/cluster/run.sh` as root (it needs `unshare --net` and `ip` for a network namespace with HOSTMESH_CLUSTER_POD_IP)'
    : false;
if (skip !== false) console.log(`cluster tier skipped: ${skip}`);

/**
 * The e2e poller at a gentler pace (the real apiserver is behind most probes), with the
 * cluster's state appended to a timeout so a failure says what was seen.
 */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, describeState: () => string, timeoutMs = 60_000): Promise<T> {
  try {
    return await pollUntil(what, probe, timeoutMs, 200);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${describeState()}`, { cause: e });
  }
}

interface Backend { name: string; port: number; server: Server }

async function backend(name: string): Promise<Backend> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, POD_IP, resolve));
  return { name, port: (server.address() as AddressInfo).port, server };
}

describe('hostmesh against a real kube-apiserver, etcd and CoreDNS', { skip }, () => {
  let cluster: Cluster;
  let mesh: Mesh;
  let coredns: CoreDns | undefined;
  const backends: Backend[] = [];
  let gatewayCrds: string[] = [];
  let smiCrds: string[] = [];
  const state = (): string => `${mesh?.describe() ?? ''}\n${cluster?.describe() ?? ''}\n${coredns ? `coredns:\n${coredns.process.tail(10)}` : ''}`;
  const wait = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T> => eventually(what, probe, state, timeoutMs);

  /** The shadow Service standing for namespace/name, once it exists. */
  async function shadowOf(namespace: string, name: string): Promise<Record<string, any> | undefined> {
    const list = await cluster.getJson<{ items: Record<string, any>[] }>(['services', '-n', MESH_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hostmesh']);
    return list.items.find((s) => s['metadata'].annotations?.[SHADOW_OF_ANNOTATION] === `${namespace}/${name}`);
  }

  function proxyPortOf(shadow: Record<string, any>, port: number): number {
    const ports = JSON.parse(shadow['metadata'].annotations[SHADOW_PORTS_ANNOTATION] as string) as Record<string, number>;
    const p = ports[`${port}/TCP`];
    assert.ok(p, `shadow ${shadow['metadata'].name} has no proxy port for ${port}/TCP: ${JSON.stringify(ports)}`);
    return p;
  }

  /** Waits until every proxy answers `path` on `port` with `expect`. */
  async function everyProxyServes(port: number, expect: (status: number, body: string) => boolean, what: string, proxies: readonly Proxy[] = mesh.proxies): Promise<void> {
    for (const p of proxies) {
      await wait(`${p.node} (${p.host}:${port}) to serve ${what}`, async () => {
        const r = await httpGet(`http://${p.host}:${port}/hello`);
        return expect(r.status, r.body);
      });
    }
  }

  before(async () => {
    if (typeof bins === 'string') return;
    for (const name of ['alpha', 'beta']) backends.push(await backend(name));
    cluster = await Cluster.start(bins);
    // Gateway API, standard channel, from its Go module (build.ts fetched it into the module cache).
    gatewayCrds = await installCrds(cluster, crdDocuments(findGo()!, GATEWAY_API, { offline: true }));
    // SMI, from the SMI SDK's Go module, converted to apiextensions v1 (crds.ts says how).
    smiCrds = await installCrds(cluster, smiCrdDocuments(findGo()!, { offline: true }));
    await cluster.apply([namespaceObject(MESH_NAMESPACE), namespaceObject(APP_NAMESPACE), ...clusterDnsObjects()]);
    const install = await helmWithHooks(cluster, MESH_NAMESPACE, ['install', RELEASE, CHART, '--namespace', MESH_NAMESPACE, '--set', 'portRange=27100-27299']);
    assert.equal(install.helm.status, 0, `helm install failed:\n${install.helm.stderr}${install.helm.stdout}\n${describeHooks(install.hooks)}`);
    mesh = new Mesh(cluster);
    await mesh.start(3);
  });

  after(async () => {
    await coredns?.stop();
    await mesh?.stop();
    await cluster?.stop();
    for (const b of backends) b.server.close();
  });

  let webPort = 0;

  test('a Service and its EndpointSlice: a shadow Service passes real validation and every proxy serves it', async () => {
    await cluster.apply([
      serviceObject(APP_NAMESPACE, 'web', [{ name: 'http', port: 80, targetPort: 8080 }]),
      endpointSliceObject(APP_NAMESPACE, 'web', 'web-1', [POD_IP!], [{ name: 'http', port: backends[0]!.port }]),
    ]);
    const shadow = await wait('the shadow Service of test/web', () => shadowOf(APP_NAMESPACE, 'web'));
    webPort = proxyPortOf(shadow, 80);
    assert.ok(webPort >= 27100 && webPort <= 27299, `proxy port ${webPort} from the chart's portRange`);
    // What the real apiserver made of it: an allocated ClusterIP, the ports as asked.
    assert.match(shadow['spec'].clusterIP as string, /^10\.96\.\d+\.\d+$/);
    assert.deepEqual(shadow['spec'].ports.map((p: any) => ({ name: p.name, port: p.port, protocol: p.protocol, targetPort: p.targetPort })), [{ name: 'http', port: 80, protocol: 'TCP', targetPort: webPort }]);
    assert.equal(shadow['spec'].internalTrafficPolicy, 'Local');
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'alpha /hello', 'alpha');
  });

  test('annotating, changing and deleting change what every proxy serves', async () => {
    await cluster.kubectlOk(['annotate', 'service', 'web', '-n', APP_NAMESPACE, 'hostmesh.io/maintenance=cluster tier']);
    await everyProxyServes(webPort, (s, b) => s === 503 && b.includes('cluster tier'), 'the maintenance page');
    await cluster.kubectlOk(['annotate', 'service', 'web', '-n', APP_NAMESPACE, 'hostmesh.io/maintenance-']);
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'alpha /hello', 'alpha again');

    await cluster.apply([endpointSliceObject(APP_NAMESPACE, 'web', 'web-1', [POD_IP!], [{ name: 'http', port: backends[1]!.port }])]);
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'beta /hello', 'beta after the EndpointSlice changed');

    await cluster.apply([serviceObject(APP_NAMESPACE, 'gone', [{ name: 'http', port: 81, targetPort: 8080 }]), endpointSliceObject(APP_NAMESPACE, 'gone', 'gone-1', [POD_IP!], [{ name: 'http', port: backends[0]!.port }])]);
    const gonePort = proxyPortOf(await wait('the shadow of test/gone', () => shadowOf(APP_NAMESPACE, 'gone')), 81);
    await everyProxyServes(gonePort, (s) => s === 200, 'test/gone');
    await cluster.kubectlOk(['delete', 'service', 'gone', '-n', APP_NAMESPACE]);
    await wait('the shadow of test/gone to be deleted', async () => (await shadowOf(APP_NAMESPACE, 'gone')) === undefined);
    for (const p of mesh.proxies) {
      await wait(`${p.node} to stop serving test/gone`, async () => {
        try {
          await httpGet(`http://${p.host}:${gonePort}/hello`);
          return false;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        }
      });
    }
  });

  test('through the real CoreDNS, with the Corefile the controller patched: the mesh name answers the shadow ClusterIP, cluster names still resolve', async () => {
    const corefile = await wait('the hostmesh block in the coredns ConfigMap', async () => {
      const cm = await cluster.getJson(['configmap', 'coredns', '-n', 'kube-system']);
      const text = cm['data']?.Corefile as string | undefined;
      return text?.includes('# hostmesh begin') ? text : undefined;
    });
    const dnsService = await cluster.getJson(['service', `${FULLNAME}-dns`, '-n', MESH_NAMESPACE]);
    const dnsIp = dnsService['spec'].clusterIP as string;
    assert.ok(corefile.includes(`forward . ${dnsIp}`), `the block forwards to the DNS Service ${dnsIp}:\n${corefile}`);
    // kube-proxy's part: the DNS Service's ClusterIP reaches a proxy's DNS responder.
    const proxy = mesh.proxies[0]!;
    coredns = await CoreDns.start(cluster, corefile, new Map([[dnsIp, `${proxy.host}:${proxy.dnsPort}`]]));
    const shadowIp = (await shadowOf(APP_NAMESPACE, 'web'))!['spec'].clusterIP as string;
    const web = await wait('an answer for web.test.hostmesh', async () => {
      const a = await coredns!.query('web.test.hostmesh');
      return a.rcode === 'NOERROR' && a.answers.length > 0 ? a : undefined;
    });
    assert.deepEqual(web.answers.filter((a) => a.type === 'A').map((a) => a.data), [shadowIp]);
    const kube = await coredns.query('kubernetes.default.svc.cluster.local');
    assert.deepEqual(kube.answers.filter((a) => a.type === 'A').map((a) => a.data), ['10.96.0.1']);
    const missing = await coredns.query('nothing.test.hostmesh');
    assert.equal(missing.rcode, 'NXDOMAIN');
  });

  test('hostmesh check --cluster against the real apiserver: RBAC by SubjectAccessReview, every proxy\'s DNS responder, and a dropped Events rule named', async () => {
    await mesh.reportPods();
    await cluster.kubectlOk(['label', 'namespace', MESH_NAMESPACE, 'pod-security.kubernetes.io/enforce=baseline', '--overwrite']);
    const check = async (): Promise<string[]> => {
      const r = await runHostmesh(['check', '--cluster', `--kubeconfig=${cluster.adminKubeconfig}`, `--namespace=${MESH_NAMESPACE}`]);
      const lines = r.stdout.trim().split('\n');
      lines.push(`exit ${r.status}`);
      return lines;
    };
    const shadowIp = (await shadowOf(APP_NAMESPACE, 'web'))!['spec'].clusterIP as string;
    const controller = `controller ServiceAccount ${MESH_NAMESPACE}/${FULLNAME}-controller`;
    const ok = await check();
    // 44: list and watch of the five SMI kinds included (their CRDs need not exist for RBAC to say yes).
    assert.ok(ok.includes(`✔ ${controller} may do all 44 things it needs (SubjectAccessReview)`), ok.join('\n'));
    assert.ok(ok.includes(`✔ all 3 proxies' DNS responders answer web.test.hostmesh with ${shadowIp}`), ok.join('\n'));
    // Every CRD the controller reads is installed here (Gateway API and SMI): a ✔ line each, no notes.
    const smiKinds = OPTIONAL_KINDS.filter((k) => k.group.endsWith('.smi-spec.io'));
    assert.equal(smiKinds.length, 5);
    assert.deepEqual(ok.filter((l) => l.includes('smi-spec.io')).map((l) => l.slice(0, 2)), smiKinds.map(() => '✔ '), ok.join('\n'));
    assert.deepEqual(ok.slice(-2), [`ok: ${10 + smiKinds.length} checks passed`, 'exit 0'], ok.join('\n'));

    // --pre's install line: the admin (system:masters) may; a ServiceAccount that may do nothing may not.
    const pre = async (kubeconfig: string): Promise<string | undefined> => {
      const r = await runHostmesh(['check', '--pre', `--kubeconfig=${kubeconfig}`, `--namespace=${MESH_NAMESPACE}`]);
      return r.stdout.split('\n').find((l) => l.includes('helm install of the chart') || l.includes('may not install the chart'));
    };
    assert.equal(await pre(cluster.adminKubeconfig), '✔ you may do all 15 things helm install of the chart needs (SelfSubjectAccessReview)');
    const nobody = await pre(await cluster.serviceAccountKubeconfig(MESH_NAMESPACE, `${FULLNAME}-proxy`));
    assert.match(nobody ?? '', /^✖ you may not install the chart; you may not: create clusterroles\.rbac\.authorization\.k8s\.io cluster-wide \(the controller's ClusterRole\); .*list secrets in hostmesh \(helm's release record\)$/);

    // The chart's ClusterRole without its Events rules: the apiserver's own authorizer says no.
    const role = await cluster.getJson(['clusterrole', `${FULLNAME}-controller`]);
    const narrowed = { ...role, rules: (role['rules'] as { resources: string[] }[]).filter((r) => !r.resources.includes('events')) };
    await cluster.kubectlOk(['replace', '-f', '-'], { input: JSON.stringify(narrowed) });
    try {
      const broken = await check();
      assert.ok(broken.includes(`✖ ${controller} may not: create events in every namespace (reports bad annotations as Events); patch events in every namespace (reports bad annotations as Events)`), broken.join('\n'));
      assert.equal(broken.at(-1), 'exit 1');
    } finally {
      const { resourceVersion: _rv, ...metadata } = role['metadata'] as Record<string, unknown>;
      await cluster.kubectlOk(['replace', '-f', '-'], { input: JSON.stringify({ ...role, metadata }) });
    }
  });

  test('Gateway API CRDs (standard channel, from sigs.k8s.io/gateway-api): an HTTPRoute with a Service parent passes the real schema', async () => {
    for (const crd of ['httproutes', 'grpcroutes', 'referencegrants']) assert.ok(gatewayCrds.includes(`${crd}.gateway.networking.k8s.io`), gatewayCrds.join(', '));
    await cluster.apply([{
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
      metadata: { name: 'web-canary', namespace: APP_NAMESPACE },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'web', port: 80 }],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] }],
      },
    }]);
    const route = await cluster.getJson(['httproute', 'web-canary', '-n', APP_NAMESPACE]);
    // Defaults the real schema fills in (what a fake would have to copy).
    assert.equal(route['spec'].rules[0].backendRefs[0].weight, 1);
    assert.equal(route['spec'].rules[0].backendRefs[0].kind, 'Service');
    const invalid = await cluster.kubectl(['apply', '--server-side', '--field-manager=cluster-tier', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'bad', namespace: APP_NAMESPACE },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80, weight: -1 }] }] },
    }) });
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.stderr, /weight/);
    await cluster.kubectlOk(['delete', 'httproute', 'web-canary', '-n', APP_NAMESPACE]);
  });

  test('SMI CRDs (from the SMI SDK module, as apiextensions v1): Traefik Mesh\'s example objects are accepted as written, bad values refused', async () => {
    assert.deepEqual(smiCrds.toSorted(), ['httproutegroups.specs.smi-spec.io', 'tcproutes.specs.smi-spec.io', 'trafficsplits.split.smi-spec.io', 'traffictargets.access.smi-spec.io', 'udproutes.specs.smi-spec.io']);
    const example = parseAllDocuments(readFileSync(SMI_EXAMPLE, 'utf8')).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: unknown });
    assert.deepEqual(example.map((o) => o.kind).toSorted(), ['HTTPRouteGroup', 'TCPRoute', 'TrafficSplit', 'TrafficTarget', 'TrafficTarget']);
    await cluster.apply([namespaceObject(SMI_NAMESPACE), ...example]);
    // Read back in the version each declares (resource.version.group): kept whole, nothing pruned.
    for (const o of example) {
      const [group, version] = o.apiVersion.split('/');
      const got = await cluster.getJson([`${o.kind.toLowerCase()}s.${version}.${group}`, o.metadata.name, '-n', o.metadata.namespace]);
      assert.equal(got['apiVersion'], o.apiVersion);
      assert.deepEqual(got['spec'], o.spec, `${o.kind} ${o.metadata.name}`);
    }
    // The newest versions have the module's schema: what it refuses, the real apiserver refuses.
    const refused = async (object: object, field: RegExp): Promise<void> => {
      const r = await cluster.kubectl(['apply', '--server-side', '--field-manager=cluster-tier', '-f', '-'], { input: JSON.stringify(object) });
      assert.notEqual(r.status, 0, `accepted: ${JSON.stringify(object)}`);
      assert.match(r.stderr, field);
    };
    const meta = { name: 'bad', namespace: SMI_NAMESPACE };
    await refused({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: meta, spec: { matches: [{ name: 'x', methods: ['FETCH'] }] } }, /spec\.matches\[0\]\.methods\[0\].*FETCH/);
    await refused({ apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: meta, spec: { service: 'whoami', backends: [{ service: 'whoami-v1', weight: 'heavy' }] } }, /spec\.backends\[0\]\.weight/);
    await refused({ apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: meta, spec: { destination: { kind: 'ServiceAccount', name: 'whoami-server' }, sources: [], rules: [{ kind: 'Ingress', name: 'x' }] } }, /spec\.rules\[0\]\.kind/);
  });

  async function warningEvents(service: string): Promise<Record<string, any>[]> {
    const list = await cluster.getJson<{ items: Record<string, any>[] }>(['events', '-n', APP_NAMESPACE, '--field-selector', `involvedObject.kind=Service,involvedObject.name=${service},type=Warning`]);
    return list.items;
  }

  test('a bad annotation gives exactly one Warning Event on the Service, also across a controller restart', async () => {
    await cluster.apply([serviceObject(APP_NAMESPACE, 'bad', [{ name: 'http', port: 82, targetPort: 8080 }], { 'hostmesh.io/dial-timeout': '3 sec' })]);
    const events = await wait('a Warning Event on test/bad', async () => {
      const e = await warningEvents('bad');
      return e.length > 0 ? e : undefined;
    });
    assert.equal(events.length, 1, JSON.stringify(events, null, 2));
    assert.equal(events[0]!['reason'], 'InvalidAnnotation');
    assert.match(events[0]!['message'] as string, /hostmesh\.io\/dial-timeout.*3 sec/);
    await mesh.stopController();
    await mesh.startController();
    // Settled: the restarted controller has published its table, so it has reported again.
    await wait('the restarted controller to report test/bad', async () => JSON.stringify(await mesh.status()).includes('3 sec'));
    const again = await warningEvents('bad');
    assert.equal(again.length, 1, JSON.stringify(again, null, 2));
    assert.equal(again[0]!['metadata'].name, events[0]!['metadata'].name);
    await cluster.kubectlOk(['delete', 'service', 'bad', '-n', APP_NAMESPACE]);
  });

  test('least privilege: what the chart\'s ServiceAccounts may and may not do (kubectl auth can-i)', async () => {
    const controller = `system:serviceaccount:${MESH_NAMESPACE}:${FULLNAME}-controller`;
    const proxy = `system:serviceaccount:${MESH_NAMESPACE}:${FULLNAME}-proxy`;
    // [who, verb, resource, namespace, allowed]
    const table: [string, string, string, string, boolean][] = [
      [controller, 'list', 'services', APP_NAMESPACE, true],
      [controller, 'watch', 'services', '', true],
      [controller, 'watch', 'endpointslices.discovery.k8s.io', APP_NAMESPACE, true],
      [controller, 'create', 'events', APP_NAMESPACE, true],
      [controller, 'patch', 'events', APP_NAMESPACE, true],
      [controller, 'create', 'services', MESH_NAMESPACE, true],
      [controller, 'update', 'services', MESH_NAMESPACE, true],
      [controller, 'delete', 'services', MESH_NAMESPACE, true],
      [controller, 'get', 'configmaps', 'kube-system', true],
      [controller, 'update', 'configmaps', 'kube-system', true],
      [controller, 'patch', 'deployments.apps', 'kube-system', true],
      [controller, 'create', 'services', APP_NAMESPACE, false],
      [controller, 'update', 'services', APP_NAMESPACE, false],
      [controller, 'delete', 'services', APP_NAMESPACE, false],
      [controller, 'create', 'endpointslices.discovery.k8s.io', APP_NAMESPACE, false],
      [controller, 'get', 'secrets', MESH_NAMESPACE, false],
      [controller, 'get', 'secrets', APP_NAMESPACE, false],
      [controller, 'get', 'configmaps', APP_NAMESPACE, false],
      [controller, 'update', 'configmaps', MESH_NAMESPACE, false],
      [controller, 'delete', 'configmaps', 'kube-system', false],
      [controller, 'patch', 'deployments.apps', APP_NAMESPACE, false],
      // Pods may be read (identities for consumer routes and ACLs), never changed.
      [controller, 'delete', 'pods', APP_NAMESPACE, false],
      [controller, 'update', 'httproutes.gateway.networking.k8s.io', APP_NAMESPACE, false],
      // SMI objects (their CRDs are installed here) are read, never written.
      [controller, 'watch', 'traffictargets.access.smi-spec.io', APP_NAMESPACE, true],
      [controller, 'list', 'trafficsplits.split.smi-spec.io', '', true],
      [controller, 'update', 'trafficsplits.split.smi-spec.io', APP_NAMESPACE, false],
      [controller, 'delete', 'traffictargets.access.smi-spec.io', SMI_NAMESPACE, false],
      [controller, 'create', 'pods', MESH_NAMESPACE, false],
      [controller, 'get', 'nodes', '', false],
      [controller, 'create', 'clusterrolebindings.rbac.authorization.k8s.io', '', false],
      [proxy, 'get', 'services', MESH_NAMESPACE, false],
      [proxy, 'list', 'endpointslices.discovery.k8s.io', APP_NAMESPACE, false],
      [proxy, 'get', 'secrets', MESH_NAMESPACE, false],
      [proxy, 'create', 'events', APP_NAMESPACE, false],
    ];
    const wrong: string[] = [];
    for (const [who, verb, resource, namespace, allowed] of table) {
      const r = await cluster.kubectl(['auth', 'can-i', verb, resource, '--as', who, ...(namespace === '' ? ['--all-namespaces'] : ['-n', namespace])]);
      const answer = r.stdout.trim();
      if (answer !== (allowed ? 'yes' : 'no')) wrong.push(`${who.split(':').pop()} ${verb} ${resource} in ${namespace || 'all namespaces'}: ${answer} ${r.stderr.trim()} (want ${allowed ? 'yes' : 'no'})`);
    }
    assert.deepEqual(wrong, []);
  });

  test('restarting the apiserver mid-run loses no update', async () => {
    // Changed just before the restart, and again while the controller's watches reconnect.
    await cluster.apply([endpointSliceObject(APP_NAMESPACE, 'web', 'web-1', [POD_IP!], [{ name: 'http', port: backends[0]!.port }])]);
    await cluster.restartApiserver();
    await cluster.kubectlOk(['annotate', 'service', 'web', '-n', APP_NAMESPACE, 'hostmesh.io/maintenance=after the restart']);
    await everyProxyServes(webPort, (s, b) => s === 503 && b.includes('after the restart'), 'the annotation written after the restart');
    await cluster.kubectlOk(['annotate', 'service', 'web', '-n', APP_NAMESPACE, 'hostmesh.io/maintenance-']);
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'alpha /hello', 'alpha (the EndpointSlice written before the restart)');
  });

  test('fail static: with the controller down every proxy keeps serving, also after a proxy restart', async () => {
    await mesh.stopController();
    try {
      await cluster.apply([endpointSliceObject(APP_NAMESPACE, 'web', 'web-1', [POD_IP!], [{ name: 'http', port: backends[1]!.port }])]);
      await everyProxyServes(webPort, (s, b) => s === 200 && b === 'alpha /hello', 'the last table (alpha) while the controller is down');
      const restarted = mesh.proxies[2]!;
      await mesh.restartProxy(restarted);
      await everyProxyServes(webPort, (s, b) => s === 200 && b === 'alpha /hello', 'the kept table after its restart', [restarted]);
    } finally {
      await mesh.startController();
    }
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'beta /hello', 'beta once the controller is back');
  });

  test('helm upgrade keeps the token and every proxy port', async () => {
    const tokenBefore = mesh.token;
    const shadowsBefore = await cluster.getJson<{ items: Record<string, any>[] }>(['services', '-n', MESH_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hostmesh']);
    const portsBefore = Object.fromEntries(shadowsBefore.items.map((s) => [s['metadata'].name, s['metadata'].annotations[SHADOW_PORTS_ANNOTATION]]));
    const upgrade = await helmWithHooks(cluster, MESH_NAMESPACE, ['upgrade', RELEASE, CHART, '--namespace', MESH_NAMESPACE, '--reuse-values', '--set', 'controller.logLevel=debug']);
    assert.equal(upgrade.helm.status, 0, `helm upgrade failed:\n${upgrade.helm.stderr}${upgrade.helm.stdout}\n${describeHooks(upgrade.hooks)}`);
    await mesh.readToken();
    assert.equal(mesh.token, tokenBefore, 'the generated token is kept');
    // The new controller pod (here: process) starts from the upgraded Deployment.
    await mesh.stop();
    mesh = new Mesh(cluster);
    await mesh.start(3);
    await everyProxyServes(webPort, (s, b) => s === 200 && b === 'beta /hello', 'beta after the upgrade');
    const shadowsAfter = await cluster.getJson<{ items: Record<string, any>[] }>(['services', '-n', MESH_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hostmesh']);
    assert.deepEqual(Object.fromEntries(shadowsAfter.items.map((s) => [s['metadata'].name, s['metadata'].annotations[SHADOW_PORTS_ANNOTATION]])), portsBefore);
  });

  test('ACL mode (chart acl: true): the real apiserver\'s Pods and TrafficTargets decide; a client pod of the allowed ServiceAccount gets 200, another ServiceAccount 403', async () => {
    assert.equal(CLIENT_IPS.length, 2, 'run.sh gives two client pod addresses (HOSTMESH_CLUSTER_CLIENT_IPS)');
    const [allowedIp, otherIp] = CLIENT_IPS as [string, string];
    const whoami = await backend('whoami');
    backends.push(whoami);
    // Traefik Mesh's example (its SMI objects are in place since the CRD scenario): the
    // ServiceAccounts, the server Pod behind the whoami Service and two client Pods, each at an
    // address of its own (the kubelet's part: status.podIP). The example's TrafficSplit sends
    // whoami to whoami-v1/v2, which do not run here: without it, whoami serves its own endpoint.
    const pod = (name: string, serviceAccountName: string): object => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: SMI_NAMESPACE },
      spec: { serviceAccountName, automountServiceAccountToken: false, containers: [{ name: 'main', image: 'whoami' }] },
    });
    await cluster.apply([
      ...['whoami-server', 'whoami-client', 'other'].map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: SMI_NAMESPACE } })),
      pod('whoami-a', 'whoami-server'), pod('client-a', 'whoami-client'), pod('other-a', 'other'),
      serviceObject(SMI_NAMESPACE, 'whoami', [{ name: 'http', port: 80, targetPort: 8080 }]),
      endpointSliceObject(SMI_NAMESPACE, 'whoami', 'whoami-1', [POD_IP!], [{ name: 'http', port: whoami.port }]),
    ]);
    for (const [name, ip] of [['whoami-a', POD_IP!], ['client-a', allowedIp], ['other-a', otherIp]] as const) {
      await cluster.kubectlOk(['patch', 'pod', name, '-n', SMI_NAMESPACE, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } })]);
    }
    await cluster.kubectlOk(['delete', 'trafficsplits.split.smi-spec.io', 'whoami-canary', '-n', SMI_NAMESPACE]);

    const upgrade = await helmWithHooks(cluster, MESH_NAMESPACE, ['upgrade', RELEASE, CHART, '--namespace', MESH_NAMESPACE, '--reuse-values', '--set', 'acl=true']);
    assert.equal(upgrade.helm.status, 0, `helm upgrade failed:\n${upgrade.helm.stderr}${upgrade.helm.stdout}\n${describeHooks(upgrade.hooks)}`);
    await mesh.stop();
    mesh = new Mesh(cluster);
    await mesh.start(3);
    assert.ok(mesh.controllerCommand.includes('--acl'), `the upgraded Deployment runs the controller with --acl: ${mesh.controllerCommand.join(' ')}`);

    const port = proxyPortOf(await wait('the shadow of whoami/whoami', () => shadowOf(SMI_NAMESPACE, 'whoami')), 80);
    const from = (ip: string, p: Proxy, method: string, path: string) => httpFrom(ip, method, `http://${p.host}:${port}${path}`);
    const statusBody = async (answer: Promise<{ status: number; body: string }>): Promise<[number, string]> => {
      const a = await answer;
      return [a.status, a.body];
    };
    for (const p of mesh.proxies) {
      await wait(`${p.node} to let whoami-client in`, async () => (await from(allowedIp, p, 'GET', '/api')).status === 200);
      // HTTPRouteGroup whoami-routes: /api any method, /metrics GET only.
      assert.deepEqual(await statusBody(from(allowedIp, p, 'DELETE', '/api/x')), [200, 'whoami /api/x']);
      assert.deepEqual(await statusBody(from(allowedIp, p, 'GET', '/metrics')), [200, 'whoami /metrics']);
      assert.equal((await from(allowedIp, p, 'POST', '/metrics')).status, 403);
      assert.equal((await from(allowedIp, p, 'GET', '/other')).status, 403);
      const other = await from(otherIp, p, 'GET', '/api');
      assert.equal(other.status, 403);
      assert.match(other.body, /ServiceAccount whoami\/other/);
      // Not a pod at all (the test runner's own address).
      assert.equal((await httpGet(`http://${p.host}:${port}/api`)).status, 403);
    }
    // Live: without the TrafficTarget the client is denied; with it again, allowed.
    const target = parseAllDocuments(readFileSync(SMI_EXAMPLE, 'utf8')).map((d) => d.toJS() as Record<string, any>).find((o) => o['metadata'].name === 'whoami-client-http')!;
    await cluster.kubectlOk(['delete', 'traffictargets.access.smi-spec.io', 'whoami-client-http', '-n', SMI_NAMESPACE]);
    for (const p of mesh.proxies) await wait(`${p.node} to deny whoami-client once its TrafficTarget is gone`, async () => (await from(allowedIp, p, 'GET', '/api')).status === 403);
    await cluster.apply([target]);
    for (const p of mesh.proxies) await wait(`${p.node} to let whoami-client in again`, async () => (await from(allowedIp, p, 'GET', '/api')).status === 200);
    // Counted by source identity.
    const metrics = await httpGet(`http://${mesh.proxies[0]!.host}:${mesh.proxies[0]!.adminPort}/metrics`);
    assert.match(metrics.body, /hostmesh_acl_denied_total\{[^}]*destination_service="whoami"[^}]*source_namespace="whoami",source_service_account="other"\} [1-9]/);
  });

  test('helm uninstall: the cleanup Job\'s command, with the cleanup ServiceAccount\'s token, leaves no shadow Service and no Corefile block', async () => {
    // The kubelet's part: once uninstall deleted the controller's Deployment, its pod is gone.
    const uninstall = await helmWithHooks(cluster, MESH_NAMESPACE, ['uninstall', RELEASE, '--namespace', MESH_NAMESPACE, '--timeout', '3m'], async (job) => {
      assert.equal((await cluster.kubectl(['get', 'deployment', `${FULLNAME}-controller`, '-n', MESH_NAMESPACE])).status, 1, `the Deployment is gone before ${job.metadata.name} runs`);
      await mesh.stop();
    });
    assert.equal(uninstall.helm.status, 0, `helm uninstall failed:\n${uninstall.helm.stderr}${uninstall.helm.stdout}\n${describeHooks(uninstall.hooks)}`);
    const cleanup = uninstall.hooks.find((h) => h.hook.includes('post-delete') && h.args[0] === 'cleanup');
    assert.ok(cleanup, `the post-delete cleanup Job ran: ${describeHooks(uninstall.hooks)}`);
    assert.equal(cleanup.result.status, 0, describeHooks([cleanup]));

    const shadows = await cluster.getJson<{ items: unknown[] }>(['services', '-n', MESH_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hostmesh']);
    assert.deepEqual(shadows.items, []);
    const corefile = (await cluster.getJson(['configmap', 'coredns', '-n', 'kube-system']))['data'].Corefile as string;
    assert.ok(!corefile.includes('hostmesh'), corefile);
    assert.ok(corefile.includes('kubernetes cluster.local'), corefile);
  });
});
