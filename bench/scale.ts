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
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/common/log.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { ResourceTracker, TABLE_FORMAT } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';
import { forkProbed, memoryReport } from './probed-child.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    process: { type: 'boolean', default: false },
    sources: { type: 'boolean', default: false },
    'heap-snapshot': { type: 'string' },
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

/** Ports: admin 24001, DNS 24002 (the scale-mem block), listeners on 127.0.0.24 from 40000. */
async function asProcess(): Promise<void> {
  const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-scale-'));
  const built = here('./.scale-build');
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (!args.sources) rmSync(built, { recursive: true, force: true });
  });
  const host = '127.0.0.24';
  const ports = await freePorts(services, 40000, host);
  writeFileSync(join(dir, 'token'), 'bench-token\n');
  writeFileSync(join(dir, 'table.json'), JSON.stringify(tableFor(ports, 1, true)));
  if (!args.sources) {
    rmSync(built, { recursive: true, force: true });
    execFileSync(process.execPath, [here('../node_modules/typescript/bin/tsc'), '-p', here('../tsconfig.build.json'), '--outDir', built], { stdio: 'inherit' });
  }
  const snapshot = args['heap-snapshot'];
  const t0 = performance.now();
  const proxy = forkProbed(children, args.sources ? here('../src/main.ts') : join(built, 'main.js'), [
    'proxy', '--controller', 'http://127.0.0.1:24009', '--node', 'bench', '--token-file', join(dir, 'token'), '--state-dir', dir,
    '--bind', host, '--admin', '127.0.0.1:24001', '--dns', '127.0.0.1:24002', '--workers', '1', '--log-level', 'silent',
  ], snapshot === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`]);
  // Ready once a table is applied: every listener is open by then.
  for (;;) {
    if (proxy.exitCode !== null) throw new Error(`the proxy exited with ${proxy.exitCode}`);
    if (await fetch('http://127.0.0.1:24001/readyz').then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const ready = performance.now() - t0;
  const routes = await fetch('http://127.0.0.1:24001/v1/routes').then((r) => r.text());
  const served = routes.split('\n').filter((l) => l.includes(host)).length;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const m = await memoryReport(proxy);
  out(`hostmesh proxy --workers 1 (${args.sources ? 'sources' : 'compiled'}), ${services} Services, ${services * perService} endpoints from a saved table, node ${process.version}`);
  out(`  ready after ${(ready / 1000).toFixed(1)} s, ${served} routes served`);
  out(`  RSS as found ${mb(m.rssAsFound)}, after a full GC ${mb(m.rss)} (V8 heap used ${mb(m.heapUsed)}, committed ${mb(m.heapTotal)}, external ${mb(m.external)}, malloced by V8 ${mb(m.mallocedMemory)})`);
  out(`  resident by mapping: ${Object.entries(m.mappings).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
  if (snapshot !== undefined) {
    const before = new Set(await import('node:fs').then((fs) => fs.readdirSync(dir)));
    proxy.kill('SIGUSR2');
    for (let i = 0; i < 600; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const fresh = (await import('node:fs')).readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      // Written once the process answers again.
      if (fresh !== undefined && await memoryReport(proxy).then(() => true)) {
        renameSync(join(dir, fresh), snapshot);
        out(`  heap snapshot: ${snapshot}`);
        break;
      }
    }
  }
  proxy.kill('SIGTERM');
}

await (args.process ? asProcess() : inProcess());
process.exit(0);
