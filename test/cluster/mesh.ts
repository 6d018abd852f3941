/**
 * hostmesh as the chart installed it, run as local processes against the real apiserver: the
 * controller with the arguments of the chart's Deployment and a TokenRequest token of the chart's
 * controller ServiceAccount (so the chart's RBAC is what the apiserver enforces), and three
 * proxies with the arguments of the chart's DaemonSet, one per loopback address (127.0.0.11-13)
 * standing for three nodes. What a kubelet and kube-proxy would do is done here, and only that:
 * `$(VAR)`s are expanded, listen addresses moved to loopback, the token Secret written to a file,
 * and a ClusterIP that CoreDNS forwards to is rewritten to the proxy it would reach.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../proxy/helpers.ts';
import type { Cluster } from './cluster.ts';
import { Component } from './processes.ts';

export const RELEASE = 'mesh';
export const MESH_NAMESPACE = 'hostmesh';
export const FULLNAME = `${RELEASE}-hostmesh`;
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface HttpAnswer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

/** One request on a fresh connection. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return httpFrom(undefined, 'GET', url, headers);
}

/** One request on a fresh connection from `localAddress` (a client pod's address: its identity in ACL mode). */
export function httpFrom(localAddress: string | undefined, method: string, url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, method, headers, timeout: 10_000, ...(localAddress === undefined ? {} : { localAddress }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The environment of a child: the user's, without the test runner's marker. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

interface Container { args: string[]; env?: { name: string; value?: string }[] }

/** The chart's container args with the kubelet's `$(VAR)` expansion and our local overrides. */
function localArgs(container: Container, vars: Record<string, string>, overrides: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of container.args) {
    const arg = raw.replaceAll(/\$\(([A-Z_]+)\)/g, (m, name: string) => vars[name] ?? m);
    const flag = /^--([a-z-]+)/.exec(arg)?.[1];
    if (flag !== undefined && flag in overrides) {
      seen.add(flag);
      const value = overrides[flag];
      if (value !== undefined) out.push(`--${flag}=${value}`);
    } else {
      out.push(arg);
    }
  }
  for (const [flag, value] of Object.entries(overrides)) if (!seen.has(flag) && value !== undefined) out.push(`--${flag}=${value}`);
  return out;
}

export interface Proxy {
  node: string;
  /** The loopback address standing for this node. */
  host: string;
  adminPort: number;
  dnsPort: number;
  stateDir: string;
  args: string[];
  process: Component;
}

export class Mesh {
  controller: Component | undefined;
  controllerPort = 0;
  readonly proxies: Proxy[] = [];
  token = '';
  private controllerArgs: string[] = [];
  private readonly tokenFile: string;

  readonly cluster: Cluster;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    this.tokenFile = join(cluster.dir, 'mesh-token');
  }

  /** Reads what the chart installed and starts the controller and `nodes` proxies from it. */
  async start(nodes = 3): Promise<void> {
    await this.readToken();
    const deployment = await this.cluster.getJson<{ spec: { template: { spec: { containers: Container[]; serviceAccountName: string } } } }>(['deployment', `${FULLNAME}-controller`, '-n', MESH_NAMESPACE]);
    const pod = deployment.spec.template.spec;
    const kubeconfig = await this.cluster.serviceAccountKubeconfig(MESH_NAMESPACE, pod.serviceAccountName);
    this.controllerPort = await freePort();
    this.controllerArgs = localArgs(pod.containers[0]!, { POD_NAMESPACE: MESH_NAMESPACE }, {
      listen: `127.0.0.1:${this.controllerPort}`,
      'token-file': this.tokenFile,
      kubeconfig,
    });
    await this.startController();

    const ds = await this.cluster.getJson<{ spec: { template: { spec: { containers: Container[] } } } }>(['daemonset', `${FULLNAME}-proxy`, '-n', MESH_NAMESPACE]);
    const proxyContainer = ds.spec.template.spec.containers[0]!;
    for (let i = 0; i < nodes; i++) {
      const host = `127.0.0.${11 + i}`;
      const node = `node-${i + 1}`;
      const stateDir = join(this.cluster.dir, `proxy-${node}`);
      mkdirSync(stateDir, { recursive: true });
      const adminPort = await freePort();
      const dnsPort = await freePort();
      const args = localArgs(proxyContainer, { NODE_NAME: node }, {
        controller: `http://127.0.0.1:${this.controllerPort}`,
        'token-file': this.tokenFile,
        'state-dir': stateDir,
        bind: host,
        admin: `${host}:${adminPort}`,
        dns: `${host}:${dnsPort}`,
        // Two shared cores: one worker per proxy.
        workers: '1',
      });
      this.proxies.push({ node, host, adminPort, dnsPort, stateDir, args, process: this.spawnProxy(node, args) });
    }
    for (const p of this.proxies) await this.waitProxyReady(p);
  }

  /** The chart's generated token, from its Secret (what the pods mount). */
  async readToken(): Promise<void> {
    const secret = await this.cluster.getJson<{ data: Record<string, string> }>(['secret', `${FULLNAME}-token`, '-n', MESH_NAMESPACE]);
    this.token = Buffer.from(secret.data['token']!, 'base64').toString('utf8');
    writeFileSync(this.tokenFile, this.token);
  }

  private spawnProxy(node: string, args: string[]): Component {
    return new Component(`proxy ${node}`, process.execPath, [MAIN, ...args], childEnv({ HOSTMESH_LOG_LEVEL: 'info' }));
  }

  async startController(): Promise<void> {
    this.controller = new Component('controller', process.execPath, [MAIN, ...this.controllerArgs], childEnv({ HOSTMESH_LOG_LEVEL: 'info' }));
    await this.controller.waitReady('ready (/readyz)', async () => (await httpGet(`http://127.0.0.1:${this.controllerPort}/readyz`)).status === 200);
  }

  /** The controller's command line (the chart's, with the local overrides). */
  get controllerCommand(): readonly string[] {
    return this.controllerArgs;
  }

  async stopController(): Promise<void> {
    await this.controller?.stop();
  }

  /** Stops a proxy and starts it again with the same arguments (its state directory kept). */
  async restartProxy(p: Proxy): Promise<void> {
    await p.process.stop();
    p.process = this.spawnProxy(p.node, p.args);
    await this.waitProxyReady(p);
  }

  async waitProxyReady(p: Proxy): Promise<void> {
    await p.process.waitReady('ready (/readyz: a table applied)', async () => (await httpGet(`http://${p.host}:${p.adminPort}/readyz`)).status === 200);
  }

  /**
   * What the kubelet and the workload controllers would report for the processes of this mesh:
   * one Running proxy Pod per proxy (its pod IP the proxy's loopback address, its `dns-udp` port
   * the proxy's DNS port), and the controller Deployment and proxy DaemonSet ready.
   */
  async reportPods(): Promise<void> {
    const labels = { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/component': 'proxy' };
    for (const p of this.proxies) {
      const name = `${FULLNAME}-proxy-${p.node}`;
      await this.cluster.apply([{
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, namespace: MESH_NAMESPACE, labels },
        spec: {
          nodeName: p.node, serviceAccountName: `${FULLNAME}-proxy`, automountServiceAccountToken: false,
          containers: [{ name: 'proxy', image: 'hostmesh', ports: [{ name: 'dns-udp', containerPort: p.dnsPort, protocol: 'UDP' }] }],
        },
      }]);
      await this.setStatus('pod', name, { phase: 'Running', podIP: p.host, podIPs: [{ ip: p.host }], hostIP: p.host, hostIPs: [{ ip: p.host }] });
    }
    const n = this.proxies.length;
    await this.setStatus('daemonset', `${FULLNAME}-proxy`, { desiredNumberScheduled: n, currentNumberScheduled: n, numberReady: n, numberAvailable: n, updatedNumberScheduled: n, numberMisscheduled: 0 });
    const replicas = (await this.cluster.getJson<{ spec: { replicas: number } }>(['deployment', `${FULLNAME}-controller`, '-n', MESH_NAMESPACE])).spec.replicas;
    await this.setStatus('deployment', `${FULLNAME}-controller`, { replicas, readyReplicas: replicas, availableReplicas: replicas, updatedReplicas: replicas });
  }

  private async setStatus(kind: string, name: string, status: object): Promise<void> {
    await this.cluster.kubectlOk(['patch', kind, name, '-n', MESH_NAMESPACE, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  }

  /** The controller's `/v1/status`. */
  async status(): Promise<Record<string, any>> {
    const r = await httpGet(`http://127.0.0.1:${this.controllerPort}/v1/status`, { authorization: `Bearer ${this.token}` });
    if (r.status !== 200) throw new Error(`controller /v1/status: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as Record<string, any>;
  }

  /**
   * Every component's last lines, for a failure message; first any request the apiserver refused
   * (a narrowed RBAC rule shows up here, naming the verb and resource).
   */
  describe(): string {
    const components = [this.controller, ...this.proxies.map((p) => p.process)].filter((c) => c !== undefined);
    const forbidden = components.flatMap((c) => c.lines.filter((l) => /forbidden/i.test(l)).slice(-5).map((l) => `  ${c.name} | ${l}`));
    return [
      ...(forbidden.length > 0 ? [`requests the apiserver refused:\n${forbidden.join('\n')}`] : []),
      ...components.map((c) => `${c.name}:\n${c.tail(15)}`),
    ].join('\n');
  }

  async stop(): Promise<void> {
    for (const p of this.proxies) await p.process.stop();
    await this.controller?.stop();
  }
}
