/**
 * A whole mesh on loopback for the end-to-end tests: the fake API server, one controller (the
 * same wiring as `hostmesh controller`, its API on 127.0.0.1) and N proxies (the same wiring as
 * `hostmesh proxy`). The proxies share the mesh ports through SO_REUSEPORT, as they cannot each
 * own 127.0.0.1:P; per-proxy state is read from each proxy's own admin port, and a test that
 * must show one particular proxy serving stops the others first (`only`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { startControllerCommand } from '../../src/cli/controller.ts';
import type { ControllerCommandOptions, RunningController } from '../../src/cli/controller.ts';
import { startProxyCommand } from '../../src/cli/proxy.ts';
import type { RunningProxy } from '../../src/cli/proxy.ts';
import { createLogger } from '../../src/common/log.ts';
import type { RouteSummary } from '../../src/proxy/engine.ts';
import type { ControllerStatus, RoutingTable } from '../../src/table/index.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import type { FakeApiServerOptions } from '../support/fake-apiserver.ts';
import { endpointSlice, service } from '../support/kube.ts';
import type { EndpointSliceObject, ServiceObject } from '../../src/controller/objects.ts';

export const MESH_NAMESPACE = 'hostmesh';
export const PROXY_SELECTOR = { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/component': 'proxy' };
export const TOKEN = 'e2e-token-0123456789';

export const log = createLogger('e2e', process.env.HOSTMESH_LOG_LEVEL ?? 'silent');

/** Polls an async probe until it returns something other than undefined/false; the timeout is a safety net. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface HttpAnswer { status: number; body: string }

/** One request on a fresh connection (no pooling: every request is a new connection to whichever proxy the kernel picks). */
export function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export type DnsReply = dnsPacket.DecodedPacket & { rcode: string };

/** A DNS question over UDP; resolves with the decoded answer. */
export function dnsQuery(port: number, name: string, type: 'A' | 'AAAA' | 'SRV' = 'A'): Promise<DnsReply> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no DNS answer for ${name} from 127.0.0.1:${port}`));
    }, 5000);
    sock.once('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(msg) as DnsReply);
    });
    sock.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, '127.0.0.1');
  });
}

export interface ProxyConfig { epoch: string; version: number; digest: string; table: RoutingTable }

export class ProxyNode {
  readonly node: string;
  readonly stateDir: string;
  running: RunningProxy | undefined;
  readonly #mesh: Mesh;

  constructor(mesh: Mesh, node: string, stateDir: string) {
    this.#mesh = mesh;
    this.node = node;
    this.stateDir = stateDir;
  }

  get admin(): string {
    if (!this.running) throw new Error(`proxy ${this.node} is not running`);
    return `http://127.0.0.1:${this.running.adminPort}`;
  }

  get dnsPort(): number {
    if (!this.running) throw new Error(`proxy ${this.node} is not running`);
    return this.running.dnsPort;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = await startProxyCommand({
      controllerUrl: this.#mesh.controllerUrl,
      node: this.node,
      token: TOKEN,
      stateDir: this.stateDir,
      bind: '127.0.0.1',
      admin: { host: '127.0.0.1', port: 0 },
      dns: { host: '127.0.0.1', port: 0 },
      workers: 1,
      accessLog: false,
      log: log.child({ node: this.node }),
      reusePort: true,
      tuning: { backoff: { initialMs: 20, maxMs: 200 } },
    });
  }

  async stop(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    await r?.close();
  }

  /** The applied table, from this proxy's admin `/config` (with the token). */
  async config(): Promise<ProxyConfig | undefined> {
    const res = await get(`${this.admin}/config`, { authorization: `Bearer ${TOKEN}` });
    if (res.status === 503) return undefined;
    if (res.status !== 200) throw new Error(`${this.node} /config: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as ProxyConfig;
  }

  async routes(): Promise<RouteSummary[]> {
    const res = await get(`${this.admin}/v1/routes?format=json`);
    return (JSON.parse(res.body) as { routes: RouteSummary[] }).routes;
  }
}

export interface MeshOptions {
  proxies?: number;
  /** The fake API server's options (the SMI kinds it serves, say). */
  fake?: FakeApiServerOptions;
  controller?: Partial<ControllerCommandOptions>;
}

let nextWindow = 0;

/** A window of proxy ports per mesh, below the ephemeral range, apart from standalone tests' 20000-29999. */
export function portRange(): [number, number] {
  const base = 11000 + ((process.pid * 131 + nextWindow++ * 200) % 8800);
  return [base, base + 199];
}

export class Mesh {
  readonly fake: FakeApiServer;
  readonly proxies: ProxyNode[] = [];
  readonly portRange: [number, number] = portRange();
  controller: RunningController | undefined;
  #controllerPort = 0;
  readonly #options: Partial<ControllerCommandOptions>;

  constructor(fake: FakeApiServer, options: Partial<ControllerCommandOptions>) {
    this.fake = fake;
    this.#options = options;
  }

  get controllerUrl(): string {
    return `http://127.0.0.1:${this.#controllerPort}`;
  }

  /** Starts the controller (again on the same port after a stop, so the proxies find it) and waits for its first table. */
  async startController(): Promise<RunningController> {
    const c = await startControllerCommand({
      listen: { host: '127.0.0.1', port: this.#controllerPort },
      token: TOKEN,
      kubeConfig: this.fake.kubeconfig(),
      meshNamespace: MESH_NAMESPACE,
      proxySelector: PROXY_SELECTOR,
      zones: ['hostmesh'],
      portRange: this.portRange,
      patchDns: false,
      log: log.child({ component: 'controller' }),
      tuning: { backoff: { minMs: 10, maxMs: 200 }, translateCoalesceMs: 5, coalesceMs: 10, maxDelayMs: 50, heartbeatMs: 2000, instance: 'e2e-controller' },
      ...this.#options,
    });
    this.controller = c;
    this.#controllerPort = c.port;
    await c.ready;
    return c;
  }

  async stopController(): Promise<void> {
    const c = this.controller;
    this.controller = undefined;
    await c?.close();
  }

  /** `GET /v1/status` with the token, over HTTP as `hostmesh check` does. */
  async status(): Promise<ControllerStatus> {
    const res = await get(`${this.controllerUrl}/v1/status`, { authorization: `Bearer ${TOKEN}` });
    if (res.status !== 200) throw new Error(`/v1/status: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as ControllerStatus;
  }

  running(): ProxyNode[] {
    return this.proxies.filter((p) => p.running !== undefined);
  }

  /**
   * Waits until every running proxy serves the controller's current table: the status says
   * applied and lag 0, and each proxy's own /config has the controller's digest.
   */
  async converged(): Promise<ControllerStatus> {
    return eventually('every running proxy to apply the current table', async () => {
      const s = await this.status();
      for (const p of this.running()) {
        const entry = s.proxies.find((x) => x.node === p.node);
        if (!entry?.connected || entry.appliedEpoch !== s.epoch || entry.appliedVersion !== s.version || entry.lagVersions !== 0) return undefined;
        const config = await p.config();
        if (config?.digest !== s.digest) return undefined;
      }
      return s;
    });
  }

  /** Waits until every running proxy's applied table satisfies `check`. */
  async everyProxy(what: string, check: (table: RoutingTable) => boolean): Promise<void> {
    await eventually(`every proxy: ${what}`, async () => {
      for (const p of this.running()) {
        const c = await p.config();
        if (!c || !check(c.table)) return false;
      }
      return true;
    });
  }

  /** Runs `fn` with only proxy `i` running (the others stopped), then restarts the others and waits for convergence. */
  async only<T>(i: number, fn: (p: ProxyNode) => Promise<T>): Promise<T> {
    const others = this.proxies.filter((_, j) => j !== i);
    await Promise.all(others.map((p) => p.stop()));
    try {
      return await fn(this.proxies[i]!);
    } finally {
      await Promise.all(others.map((p) => p.start()));
      if (this.controller) await this.converged();
    }
  }

  /** The listener port of a route in the controller's current table. */
  port(route: string): number {
    const port = this.controller?.publisher.current?.table.listeners.find((l) => l.route === route)?.port;
    if (port === undefined) throw new Error(`no listener for ${route}`);
    return port;
  }

  url(route: string, path = '/'): string {
    return `http://127.0.0.1:${this.port(route)}${path}`;
  }
}

/** Starts the fake API server, the controller and `proxies` proxies (3 by default); everything stops when the test ends. */
export async function startMesh(t: TestContext, options: MeshOptions = {}): Promise<Mesh> {
  const fake = await FakeApiServer.start(options.fake);
  const mesh = new Mesh(fake, options.controller ?? {});
  const dirs: string[] = [];
  // One hook, in order: proxies, controller, then the API server they talk to.
  t.after(async () => {
    await Promise.all(mesh.proxies.map((p) => p.stop()));
    await mesh.stopController();
    await fake.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  await mesh.startController();
  for (let i = 1; i <= (options.proxies ?? 3); i++) {
    const dir = mkdtempSync(join(tmpdir(), `hostmesh-e2e-node-${i}-`));
    dirs.push(dir);
    mesh.proxies.push(new ProxyNode(mesh, `node-${i}`, dir));
  }
  await Promise.all(mesh.proxies.map((p) => p.start()));
  await mesh.converged();
  return mesh;
}

/** A Service whose port 80 (named http) targets the backends' named port. */
export function webService(namespace: string, name: string, annotations?: Record<string, string>): ServiceObject {
  return service(namespace, name, { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...(annotations ? { annotations } : {}) });
}

/** An EndpointSlice of `serviceName` with one ready endpoint: a backend on 127.0.0.1:port. */
export function backendSlice(namespace: string, serviceName: string, sliceName: string, port: number): EndpointSliceObject {
  return endpointSlice(namespace, serviceName, sliceName, ['127.0.0.1'], [{ name: 'http', port }]);
}
