/**
 * `node --expose-gc bench/scale.ts [services] [endpoints per service] [--process]`: memory and
 * apply time of one proxy serving many Services (each with one port, its endpoints (default 2)
 * and its own listener). DESIGN.md's targets: idle RSS under 60 MB; issue 12's: under 150 MB
 * with 10,000 Services and 100,000 endpoints.
 *
 * In this process (the default): one ProxyEngine applies the table; then a one-endpoint change
 * as a full re-apply and as a delta; then a /metrics scrape.
 *
 * `--process`: the real `hostmesh proxy --workers 1` (compiled, as installed, unless
 * `--sources`) starts from a saved table as translation writes it (endpoints with node and pod
 * names, every Service with a DNS entry), listeners on 127.0.0.24, no controller reachable.
 * Reported once every listener answers: its RSS as found and after a full GC, and the V8 heap
 * (bench/memory-probe.ts). `--heap-snapshot FILE` also writes a heap snapshot of it there.
 *
 * `--cluster`: the real `hostmesh controller` on a fake API server (in this process) holding the
 * Services, one EndpointSlice each and every shadow Service already in place (a controller
 * restart's situation: nothing to write), and the real `hostmesh proxy` fed by it over HTTP.
 * Reported once the proxy serves every Service and nothing was published for 5 s (and then
 * `--settle S` seconds more: the controller drops its serialized snapshot 30-60 s after the
 * last stream that needed it): both processes' memory, as above. `--heap-snapshot FILE` snapshots the controller, `--proxy-heap-snapshot FILE` the proxy.
 * Ports: controller 24010, proxy admin 24001 and DNS 24002, listeners on 127.0.0.24; `--port P`
 * moves them to P, P+1, P+2 and `--bind IP` the listeners, so two runs can share a machine.
 * `--main FILE`: run that compiled `main.js` (another build, for a before/after comparison)
 * instead of compiling this checkout.
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/common/log.ts';
import { SERVICE_NAME_LABEL } from '../src/controller/objects.ts';
import type { EndpointSliceObject, ServiceObject } from '../src/controller/objects.ts';
import { buildShadowService } from '../src/controller/shadow/services.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { portId, ResourceTracker, TABLE_FORMAT } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';
import { FakeApiServer } from '../test/support/fake-apiserver.ts';
import { forkProbed, memoryReport } from './probed-child.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    process: { type: 'boolean', default: false },
    sources: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    settle: { type: 'string', default: '0' },
    'heap-snapshot': { type: 'string' },
    'proxy-heap-snapshot': { type: 'string' },
    port: { type: 'string', default: '24010' },
    main: { type: 'string' },
    bind: { type: 'string', default: '127.0.0.24' },
  },
});
const services = Number(positionals[0] ?? 10_000);
const perService = Number(positionals[1] ?? 2);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** A block of consecutive free ports above `from` on `host` (checked by binding each once). */
async function freePorts(n: number, from: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let p = from; ports.length < n && p < 65535; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, host, () => s.close(() => resolve(true)));
    });
    if (ok) ports.push(p);
  }
  if (ports.length < n) throw new Error(`only ${ports.length} free ports`);
  return ports;
}

/** `realistic`: endpoints carry node and pod names and every Service has a DNS entry, as translation writes them. */
function tableFor(ports: number[], version: number, realistic = false): RoutingTable {
  const t: RoutingTable = {
    format: TABLE_FORMAT, epoch: 'scale', version, generatedAt: new Date().toISOString(),
    dns: { zones: ['hostmesh'], ttl: 5, services: [] }, listeners: [], routes: [], clusters: [],
  };
  ports.forEach((port, i) => {
    const ns = `ns${i % 50}`;
    const id = `${ns}/svc-${i}:80`;
    t.clusters.push({
      id, namespace: ns, service: `svc-${i}`, port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
      loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
      endpoints: Array.from({ length: perService }, (_, e) => ({
        address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`, port: 8080,
        ...(realistic ? { nodeName: `node-${e}`, target: `${ns}/svc-${i}-${e}` } : {}),
      })),
    });
    t.routes.push({ id, namespace: ns, service: `svc-${i}`, port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }] });
    t.listeners.push({ port, protocol: 'http', route: id });
    if (realistic) t.dns.services.push({ namespace: ns, name: `svc-${i}`, addresses: [`10.96.${(i >> 8) & 255}.${i & 255}`], ports: [{ name: 'http', protocol: 'tcp', port }] });
  });
  return t;
}

async function inProcess(): Promise<void> {
  gc?.();
  const idle = new ProxyEngine({ log: createLogger('scale', 'warn') });
  gc?.();
  out(`engine created, no table: RSS ${mb(process.memoryUsage().rss)}`);
  // Above every engineer's port block and the suites' helpers.
  const ports = await freePorts(services, 40000);
  let t0 = performance.now();
  let r = await idle.apply(tableFor(ports, 1));
  if (!r.ok) throw new Error(r.error.message);
  out(`${services} services, ${services * perService} endpoints applied in ${(performance.now() - t0).toFixed(0)} ms`);
  gc?.();
  out(`RSS with ${services} services: ${mb(process.memoryUsage().rss)} (heap ${mb(process.memoryUsage().heapUsed)})`);
  // A one-endpoint change everywhere: the common case of a re-apply.
  const next = tableFor(ports, 2);
  next.clusters[0]!.endpoints.push({ address: '10.255.255.9', port: 8080 });
  t0 = performance.now();
  r = await idle.apply(next);
  if (!r.ok) throw new Error(r.error.message);
  out(`re-apply with one endpoint changed: ${(performance.now() - t0).toFixed(0)} ms`);
  // The same kind of change as a delta (what the controller sends now).
  const tracker = new ResourceTracker();
  tracker.update(next);
  const third = { ...next, version: 3, clusters: next.clusters.slice() };
  third.clusters[1] = { ...third.clusters[1]!, endpoints: [...third.clusters[1]!.endpoints, { address: '10.255.255.10', port: 8080 }] };
  const { changes, digest } = tracker.update(third);
  const delta = JSON.parse(JSON.stringify({ format: TABLE_FORMAT, epoch: 'scale', base: 2, version: 3, generatedAt: new Date().toISOString(), digest, changes })) as unknown;
  t0 = performance.now();
  r = await idle.applyDelta(delta);
  if (!r.ok) throw new Error(r.error.message);
  out(`delta with one endpoint changed (${JSON.stringify(delta).length} bytes): ${(performance.now() - t0).toFixed(1)} ms`);
  gc?.();
  out(`RSS after the changes: ${mb(process.memoryUsage().rss)} (heap ${mb(process.memoryUsage().heapUsed)})`);
  const scrape = performance.now();
  const text = await idle.registry.metrics();
  out(`/metrics: ${(text.length / 1024 / 1024).toFixed(1)} MB of text in ${(performance.now() - scrape).toFixed(0)} ms`);
  await idle.close();
}

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const HOST = args.bind;
const PORT = Number(args.port);
const ADMIN = `http://127.0.0.1:${PORT + 1}`;

/** A temporary directory, the compiled package (unless --sources) and the children, all removed at exit. */
function prepare(): { dir: string; main: string; children: ChildProcess[] } {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-scale-'));
  const built = here('./.scale-build');
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (!args.sources && args.main === undefined) rmSync(built, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'token'), 'bench-token\n');
  if (args.main !== undefined) return { dir, main: args.main, children };
  if (!args.sources) {
    rmSync(built, { recursive: true, force: true });
    execFileSync(process.execPath, [here('../node_modules/typescript/bin/tsc'), '-p', here('../tsconfig.build.json'), '--outDir', built], { stdio: 'inherit' });
  }
  return { dir, main: args.sources ? here('../src/main.ts') : join(built, 'main.js'), children };
}

/** `hostmesh proxy --workers 1` on 127.0.0.24, state in `dir`; snapshots on SIGUSR2 when `snapshot`. */
function startProxy(main: string, dir: string, children: ChildProcess[], controller: string, snapshot: string | undefined): ChildProcess {
  return forkProbed(children, main, [
    'proxy', '--controller', controller, '--node', 'bench', '--token-file', join(dir, 'token'), '--state-dir', join(dir, 'state'),
    '--bind', HOST, '--admin', `127.0.0.1:${PORT + 1}`, '--dns', `127.0.0.1:${PORT + 2}`, '--workers', '1', '--log-level', 'silent',
  ], snapshotFlags(dir, snapshot));
}

const snapshotFlags = (dir: string, snapshot: string | undefined): string[] => (snapshot === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`]);

/** Routes the proxy serves on its listeners (GET /v1/routes), 0 while it cannot answer. */
async function routesServed(): Promise<number> {
  const text = await fetch(`${ADMIN}/v1/routes`).then((r) => (r.ok ? r.text() : ''), () => '');
  return text.split('\n').filter((l) => l.includes(HOST)).length;
}

async function memory(name: string, child: ChildProcess, dir: string, snapshot: string | undefined): Promise<void> {
  const m = await memoryReport(child);
  out(`  ${name.padEnd(11)} RSS as found ${mb(m.rssAsFound)}, after a full GC ${mb(m.rss)} (V8 heap used ${mb(m.heapUsed)}, committed ${mb(m.heapTotal)}, external ${mb(m.external)}, malloced by V8 ${mb(m.mallocedMemory)})`);
  out(`  ${''.padEnd(11)} resident by mapping: ${Object.entries(m.mappings).filter(([, v]) => v >= 1048576).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
  if (snapshot === undefined) return;
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const fresh = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // Complete once the process answers again.
    if (fresh !== undefined && await memoryReport(child).then(() => true)) {
      renameSync(join(dir, fresh), snapshot);
      out(`  ${''.padEnd(11)} heap snapshot: ${snapshot}`);
      return;
    }
  }
}

/** The proxy alone, from a saved table; no controller reachable. */
async function asProcess(): Promise<void> {
  const { dir, main, children } = prepare();
  const ports = await freePorts(services, 40000, HOST);
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'state', 'table.json'), JSON.stringify(tableFor(ports, 1, true)));
  const t0 = performance.now();
  const proxy = startProxy(main, dir, children, `http://127.0.0.1:${PORT - 1}`, args['heap-snapshot']);
  // Ready once a table is applied: every listener is open by then.
  for (;;) {
    if (proxy.exitCode !== null) throw new Error(`the proxy exited with ${proxy.exitCode}`);
    if (await fetch(`${ADMIN}/readyz`).then((r) => r.ok, () => false)) break;
    await sleep(100);
  }
  const ready = performance.now() - t0;
  const served = await routesServed();
  await sleep(2000);
  out(`hostmesh proxy --workers 1 (${args.sources ? 'sources' : 'compiled'}), ${services} Services, ${services * perService} endpoints from a saved table, node ${process.version}`);
  out(`  ready after ${(ready / 1000).toFixed(1)} s, ${served} routes served`);
  await memory('proxy', proxy, dir, args['heap-snapshot']);
  proxy.kill('SIGTERM');
}

/** The controller on a fake API server with every shadow in place, and the proxy it feeds. */
async function asCluster(): Promise<void> {
  const fake = await FakeApiServer.start({ historyLimit: 4 * services + 1000 });
  const selector = { 'app.kubernetes.io/component': 'proxy' };
  for (let i = 0; i < services; i++) {
    const ns = `ns${i % 50}`;
    const svc: ServiceObject = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: ns },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], selector: { app: `svc-${i}` } },
    };
    fake.create('services', svc);
    fake.create('endpointslices', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `svc-${i}-a`, namespace: ns, labels: { [SERVICE_NAME_LABEL]: `svc-${i}` } },
      addressType: 'IPv4',
      endpoints: Array.from({ length: perService }, (_, e) => ({
        addresses: [`10.${(i >> 8) & 255}.${i & 255}.${e + 1}`], conditions: { ready: true }, nodeName: `node-${e}`,
        targetRef: { kind: 'Pod', namespace: ns, name: `svc-${i}-${e}` },
      })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    } satisfies EndpointSliceObject);
    fake.create('services', buildShadowService(svc, new Map([[portId(ns, `svc-${i}`, 80), 40000 + i]]), { meshNamespace: 'hostmesh', proxySelector: selector })!);
  }
  const { dir, main, children } = prepare();
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeconfig().exportConfig());
  const api = `http://127.0.0.1:${PORT}`;
  const t0 = performance.now();
  const controller = forkProbed(children, main, [
    'controller', '--listen', `127.0.0.1:${PORT}`, '--mesh-namespace', 'hostmesh', '--token-file', join(dir, 'token'),
    '--proxy-selector', 'app.kubernetes.io/component=proxy', '--kubeconfig', join(dir, 'kubeconfig'),
    '--port-range', `40000-${40000 + services - 1}`, '--log-level', 'warn',
  ], snapshotFlags(dir, args['heap-snapshot']));
  while (!(await fetch(`${api}/healthz`).then((r) => r.ok, () => false))) {
    if (controller.exitCode !== null) throw new Error(`the controller exited with ${controller.exitCode}`);
    await sleep(100);
  }
  const proxy = startProxy(main, dir, children, api, args['proxy-heap-snapshot']);
  let served = 0;
  let lastVersion = -1;
  let quietSince = performance.now();
  for (;;) {
    if (controller.exitCode !== null || proxy.exitCode !== null) throw new Error('a process exited');
    const status = await fetch(`${api}/v1/status`, { headers: { authorization: 'Bearer bench-token' } }).then((r) => r.json() as Promise<{ version: number; proxies: { appliedVersion?: number }[] }>, () => undefined);
    if (status !== undefined && status.version !== lastVersion) {
      lastVersion = status.version;
      quietSince = performance.now();
    }
    if (served < services) served = await routesServed();
    if (served >= services && status?.proxies[0]?.appliedVersion === status?.version && performance.now() - quietSince > 5000) break;
    await sleep(1000);
  }
  out(`hostmesh controller + proxy (${args.sources ? 'sources' : 'compiled'}), ${services} Services with their shadows, ${services * perService} endpoints, node ${process.version}`);
  out(`  every route served after ${((performance.now() - t0) / 1000).toFixed(1)} s (with 5 s quiet), version ${lastVersion}, ${fake.list('services', 'hostmesh').length} shadows; measured ${args.settle} s later`);
  await sleep(Number(args.settle) * 1000);
  await memory('controller', controller, dir, args['heap-snapshot']);
  await memory('proxy', proxy, dir, args['proxy-heap-snapshot']);
  for (const c of children) c.kill('SIGTERM');
  await fake.stop();
}

await (args.cluster ? asCluster() : args.process ? asProcess() : inProcess());
process.exit(0);
