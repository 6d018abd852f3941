/**
 * `npm run bench:coldstart [-- flags]`: a cold start of `hostmesh controller` on a large
 * cluster, and what the controller and `hostmesh proxy` then hold in memory (issue 12).
 *
 * The fake API server (test/support/fake-apiserver.ts, in this process) holds `--services`
 * Services with one port each and one EndpointSlice each with `--endpoints` ready endpoints,
 * and no shadow Services yet. Then, as processes (the compiled package, as installed, unless
 * `--sources`):
 *
 * 1. `hostmesh controller` starts (t = 0) with a kubeconfig pointing at the fake server;
 * 2. once it answers /healthz, one `hostmesh proxy --workers 1` (listeners on 127.0.0.23) and
 *    `--clients` watch clients (real ConfigClients with a no-op engine, in this process)
 *    connect, as already-running proxies would;
 * 3. the bench polls `/v1/status` until every proxy serves a table with every Service routed
 *    (the routes do not wait for shadow Services), then until every Service also has its DNS
 *    name (its shadow Service was created and has a ClusterIP), and nothing was published for
 *    `--quiet` seconds.
 *
 * Reported: the times of both, the versions published on the way (bulk changes are published
 * as few versions), the shadow Services written, and both processes' memory (RSS as found,
 * and after a memory-reducing full GC through bench/memory-probe.ts). Then (unless
 * `--no-restart`) the controller is stopped and started again, as a rollout or a new leader
 * does, now with every shadow in place: the time until every proxy follows the new
 * controller's table (all routes and names).
 *
 * `--shadows`: a controller RESTART instead (a rolling update, a new leader): every shadow
 * Service is already in place, with its proxy ports and ClusterIP, as the previous controller
 * left it. Reported the same way, from the new process's start: the time until every proxy
 * serves every route and every DNS name (nothing has to be written first).
 *
 *   --services N    (default 10000)   --endpoints N   per Service (default 10)
 *   --shadows       the shadows exist already (a restart; implies --no-restart)
 *   --clients N     no-op watch clients besides the real proxy (default 2)
 *   --no-proxy      no `hostmesh proxy` process (the controller alone)
 *   --no-restart    skip the warm restart
 *   --quiet S       seconds without a publish that end the run (default 5)
 *   --limit S       give up after S seconds (default 600)
 *   --sources       run src/main.ts instead of compiling to bench/.coldstart-build/
 *   --main FILE     run that compiled main.js (another build: a before/after) instead
 *   --port P        the controller API's port (default 23100); the proxy's admin and DNS take P+1, P+2
 *   --bind IP       the proxy's mesh listeners' loopback address (default 127.0.0.23)
 *
 * Ports: the controller API on 127.0.0.1:23100, the proxy's admin and DNS on 23101/23102, its
 * mesh listeners on 127.0.0.23:40000-59999 (a loopback address of their own); `--port` and
 * `--bind` move them, so two runs can share a machine.
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EndpointSliceObject, ServiceObject } from '../src/controller/objects.ts';
import { SERVICE_NAME_LABEL } from '../src/controller/objects.ts';
import { buildShadowService } from '../src/controller/shadow/services.ts';
import { portId } from '../src/table/index.ts';
import { FakeApiServer } from '../test/support/fake-apiserver.ts';
import { startClient } from './convergence-client.ts';
import type { AppliedEvent, BenchClient } from './convergence-client.ts';
import type { MemoryReport } from './memory-probe.ts';
import { forkProbed, memoryReport } from './probed-child.ts';

const { values: args } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '10' },
    clients: { type: 'string', default: '2' },
    'no-proxy': { type: 'boolean', default: false },
    'no-restart': { type: 'boolean', default: false },
    shadows: { type: 'boolean', default: false },
    main: { type: 'string' },
    quiet: { type: 'string', default: '5' },
    limit: { type: 'string', default: '600' },
    sources: { type: 'boolean', default: false },
    port: { type: 'string', default: '23100' },
    bind: { type: 'string', default: '127.0.0.23' },
  },
});
const SERVICES = Number(args.services);
const ENDPOINTS = Number(args.endpoints);
const CLIENTS = Number(args.clients);
const QUIET_MS = Number(args.quiet) * 1000;
const LIMIT_MS = Number(args.limit) * 1000;
const PORT = Number(args.port);
const API = `http://127.0.0.1:${PORT}`;
const TOKEN = 'bench-token';
const NAMESPACE = 'bench';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const dir = mkdtempSync(join(tmpdir(), 'hostmesh-coldstart-'));
const children: ChildProcess[] = [];
const built = here('./.coldstart-build');
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  if (!args.sources && args.main === undefined) rmSync(built, { recursive: true, force: true });
});

function service(i: number): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], selector: { app: `svc-${i}` } },
  };
}

function slice(i: number): EndpointSliceObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-a`, namespace: NAMESPACE, labels: { [SERVICE_NAME_LABEL]: `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
      addresses: [`10.${(i >> 8) & 0xff}.${i & 0xff}.${e + 1}`],
      conditions: { ready: true },
      nodeName: `node-${e}`,
      targetRef: { kind: 'Pod', namespace: NAMESPACE, name: `svc-${i}-${e}` },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

const start = (file: string, argv: string[], execArgv: string[] = []): ChildProcess => forkProbed(children, file, argv, execArgv);
const report = memoryReport;

interface Status { epoch: string; version: number; digest: string; proxies: { node: string; connected: boolean; appliedEpoch?: string; appliedVersion?: number }[] }

async function status(): Promise<Status | undefined> {
  try {
    const r = await fetch(`${API}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return r.ok ? (await r.json()) as Status : undefined;
  } catch {
    return undefined;
  }
}

const fake = await FakeApiServer.start({ historyLimit: 4 * SERVICES + 1000 });
const SHADOWS = args.shadows;
for (let i = 0; i < SERVICES; i++) {
  fake.create('services', service(i));
  fake.create('endpointslices', slice(i));
  if (SHADOWS) {
    // As the previous controller left it: proxy port 40000 + i, a ClusterIP from the fake.
    const ports = new Map([[portId(NAMESPACE, `svc-${i}`, 80), 40_000 + i]]);
    fake.create('services', buildShadowService(service(i), ports, { meshNamespace: 'hostmesh', proxySelector: { 'app.kubernetes.io/component': 'proxy' } })!);
  }
}
writeFileSync(join(dir, 'kubeconfig'), fake.kubeconfig().exportConfig());
writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
if (!args.sources && args.main === undefined) {
  rmSync(built, { recursive: true, force: true });
  execFileSync(process.execPath, [here('../node_modules/typescript/bin/tsc'), '-p', here('../tsconfig.build.json'), '--outDir', built], { stdio: 'inherit' });
}
const main = args.main ?? (args.sources ? here('../src/main.ts') : join(built, 'main.js'));

const t0 = performance.now();
const since = (): number => performance.now() - t0;
async function startController(): Promise<ChildProcess> {
  const child = start(main, [
    'controller', '--listen', `127.0.0.1:${PORT}`, '--mesh-namespace', 'hostmesh', '--token-file', join(dir, 'token'),
    '--proxy-selector', 'app.kubernetes.io/component=proxy', '--kubeconfig', join(dir, 'kubeconfig'),
    '--port-range', '40000-59999', '--log-level', 'warn',
  ], process.env.HOSTMESH_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.HOSTMESH_BENCH_CPU_PROF] : []);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the controller exited with ${child.exitCode}`);
    if (await fetch(`${API}/healthz`).then((r) => r.ok, () => false)) return child;
    await sleep(50);
  }
}
let controller = await startController();
const healthy = since();

const nodes: string[] = [];
let proxy: ChildProcess | undefined;
if (!args['no-proxy']) {
  proxy = start(main, [
    'proxy', '--controller', API, '--node', 'bench-proxy', '--token-file', join(dir, 'token'), '--state-dir', join(dir, 'state'),
    '--bind', args.bind, '--admin', `127.0.0.1:${PORT + 1}`, '--dns', `127.0.0.1:${PORT + 2}`, '--workers', '1', '--log-level', 'warn',
  ]);
  nodes.push('bench-proxy');
}
// The first version each client applied with every route, and with every DNS name.
const clientTimes = new Map<string, { routes?: { version: number; at: number }; names?: { version: number; at: number } }>();
const onApplied = (e: AppliedEvent): void => {
  const entry = clientTimes.get(e.node) ?? {};
  const at = e.at - performance.timeOrigin - t0;
  if (entry.routes === undefined && e.routes === SERVICES) entry.routes = { version: e.version, at };
  if (entry.names === undefined && e.routes === SERVICES && e.names === SERVICES) entry.names = { version: e.version, at };
  clientTimes.set(e.node, entry);
};
const clients: BenchClient[] = [];
for (let i = 0; i < CLIENTS; i++) {
  const node = `bench-client-${i + 1}`;
  nodes.push(node);
  clients.push(await startClient({ controllerUrl: API, node, token: TOKEN, engine: 'noop' }, onApplied));
}

/** Versions with every route / every name, as the clients saw them (the proxy follows the same versions). */
const versionWith = (what: 'routes' | 'names'): number | undefined => {
  const seen = [...clientTimes.values()].map((c) => c[what]?.version).filter((v) => v !== undefined);
  return seen.length === 0 ? undefined : Math.min(...seen);
};
let routesEverywhere: number | undefined;
let namesEverywhere: number | undefined;
let lastVersion = 0;
let lastChange = since();
let final: Status | undefined;
while (since() < LIMIT_MS) {
  if (controller.exitCode !== null || (proxy && proxy.exitCode !== null)) throw new Error('a process exited');
  const s = await status();
  if (s !== undefined) {
    if (s.version !== lastVersion) {
      lastVersion = s.version;
      lastChange = since();
    }
    const applied = (node: string): number => s.proxies.find((p) => p.node === node)?.appliedVersion ?? 0;
    const everywhere = (v: number | undefined): boolean => v !== undefined && nodes.every((n) => applied(n) >= v);
    if (routesEverywhere === undefined && everywhere(versionWith('routes'))) routesEverywhere = since();
    if (namesEverywhere === undefined && everywhere(versionWith('names'))) namesEverywhere = since();
    if (namesEverywhere !== undefined && since() - lastChange >= QUIET_MS && nodes.every((n) => applied(n) === s.version)) {
      final = s;
      break;
    }
  }
  await sleep(100);
}
const shadows = fake.list('services', 'hostmesh').length;
const controllerMemory = await report(controller);
const proxyMemory = proxy ? await report(proxy) : undefined;

const line = (label: string, value: string): void => out(`  ${`${label}:`.padEnd(56)} ${value}`);
const sec = (ms: number | undefined): string => (ms === undefined ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
out(`hostmesh bench:coldstart: ${SERVICES} Services, ${SERVICES * ENDPOINTS} endpoints, ${SHADOWS ? 'every shadow Service in place (a controller restart)' : 'no shadow Services yet'}; ${args.sources ? 'sources' : 'compiled package'}, node ${process.version}`);
line('controller answering /healthz', sec(healthy));
line(`every proxy (${nodes.length}) serving every route`, `${sec(routesEverywhere)} (version ${versionWith('routes') ?? '-'})`);
line('... and every DNS name (all shadows have a ClusterIP)', `${sec(namesEverywhere)} (version ${versionWith('names') ?? '-'})`);
line('versions published until quiet', String(final?.version ?? `${lastVersion} (did not settle)`));
line('shadow Services in the mesh namespace', String(shadows));
const mem = (name: string, r: MemoryReport | undefined): void => {
  if (r === undefined) return;
  out(`  ${name.padEnd(12)} RSS as found ${mb(r.rssAsFound).padStart(7)}, after a full GC ${mb(r.rss).padStart(7)} (V8 heap used ${mb(r.heapUsed)}, committed ${mb(r.heapTotal)}, external ${mb(r.external)})`);
};
mem('controller', controllerMemory);
mem('proxy', proxyMemory);

if (!args['no-restart'] && !SHADOWS && final !== undefined) {
  // The IPC channel (memory reports) would keep the stopped controller alive: close it first.
  controller.disconnect();
  await new Promise((resolve) => { controller.once('exit', resolve); controller.kill('SIGTERM'); });
  const t1 = performance.now();
  controller = await startController();
  let followed: number | undefined;
  while (performance.now() - t1 < LIMIT_MS) {
    const s = await status();
    // The same content as before the restart (the digest ignores epoch and version), applied
    // everywhere: a proxy adopts an identical table without rebuilding anything.
    const current = (n: string): boolean => {
      const p = s?.proxies.find((x) => x.node === n);
      return p?.appliedEpoch === s?.epoch && p?.appliedVersion === s?.version;
    };
    if (s !== undefined && s.epoch !== final.epoch && s.digest === final.digest && nodes.every(current)) {
      followed = performance.now() - t1;
      break;
    }
    await sleep(100);
  }
  line('restart: every proxy following the new controller', sec(followed));
}

await Promise.all(clients.map((c) => c.stop()));
await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((resolve) => {
  c.once('exit', resolve);
  if (c.connected) c.disconnect();
  c.kill('SIGTERM');
}) : undefined)));
await fake.stop();
process.exit(final ? 0 : 1);
