/**
 * `npm run bench:peers [-- flags]`: hostmesh against real proxies in one run. A static nginx
 * upstream answers every request with 100 bytes; nginx, HAProxy and Caddy (configs in
 * bench/peers/, keep-alive on both sides) and hostmesh (plain, and with every stage on) each
 * forward to it, pinned to CPU 0; the upstream and the load generator share CPU 1.
 *
 * Throughput: `wrk -t1 -c50` (autocannon with two workers where wrk is missing), interleaved
 * rounds, medians of req/s and of the proxy's CPU time per request (from /proc), and the
 * ratios to Caddy and nginx. The direct figure (load straight at the upstream) shows the load
 * generator is not what limits the proxies.
 *
 * Latency: an open-loop generator (bench/fixed-rate.ts) at fixed rates, interleaved rounds,
 * median per quantile, and what each proxy adds over direct.
 *
 *   --duration S        seconds per throughput measurement (default 8)
 *   --warmup S          unmeasured seconds before each (default 2)
 *   --rounds N          interleaved throughput rounds (default 3)
 *   --connections N     (default 50)
 *   --rates R,R         open-loop rates (default 1000,5000; empty skips latency)
 *   --latency-duration S  seconds per latency measurement (default 8)
 *   --latency-rounds N  (default 2)
 *   --only NAMES        comma list of direct,nginx,haproxy,caddy,hostmesh,hostmesh-all
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixedRate } from './fixed-rate.ts';
import type { LatencyResult } from './fixed-rate.ts';
import { autocannon, cpuSeconds, median, pin, pinned } from './load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rates: { type: 'string', default: '1000,5000' },
    'latency-duration': { type: 'string', default: '8' },
    'latency-rounds': { type: 'string', default: '2' },
    only: { type: 'string', default: 'direct,nginx,haproxy,caddy,hostmesh,hostmesh-all' },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const rounds = Math.max(1, Number(args.rounds));
const connections = Number(args.connections);
const rates = args.rates.split(',').filter((r) => r !== '').map(Number);
const latencySeconds = Number(args['latency-duration']);
const latencyRounds = Math.max(1, Number(args['latency-rounds']));
const only = new Set(args.only.split(','));
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const PORTS = { upstream: 22001, nginx: 22002, haproxy: 22003, caddy: 22004, hostmesh: 22005, 'hostmesh-all': 22006 } as const;

function has(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'hostmesh-peers-'));
/** A config from bench/peers/ with its placeholders filled, written to the run's directory. */
function config(file: string, port: number): string {
  const text = readFileSync(here(`./peers/${file}`), 'utf8')
    .replaceAll('{{DIR}}', dir).replaceAll('{{PORT}}', String(port)).replaceAll('{{UPSTREAM}}', String(PORTS.upstream));
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Runs a binary under `taskset` from the start (Go sizes its scheduler from the affinity it starts with). */
function launch(bin: string, argv: string[], cpu: number, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [cmd, full] = pinned ? ['taskset', ['-c', String(cpu), bin, ...argv]] : [bin, argv];
  const child = spawn(cmd, full, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { err = (err + d).slice(-2000); });
  child.on('exit', (code) => { if (code !== 0 && code !== null) out(`  ${bin} exited with ${code}: ${err.trim()}`); });
  children.push(child);
  return child;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`process on port ${port} exited`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function hostmesh(variant: string, port: number): Promise<ChildProcess> {
  const child = fork(here('./hostmesh-proxy.ts'), [String(PORTS.upstream), variant, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  await once(child, 'message');
  pin(child.pid!, PROXY_CPU);
  return child;
}

interface Target { name: string; port: number; pid?: number }

pin(process.pid, LOAD_CPU);
const useWrk = has('wrk');
out(`hostmesh bench:peers: static nginx upstream, 100-byte responses, ${connections} connections, ${duration}s per run (${warmup}s warm-up), ${rounds} interleaved round(s)`);
out(pinned ? `pinning: each proxy on CPU ${PROXY_CPU}; upstream, load generator and this script on CPU ${LOAD_CPU}` : 'taskset not found: nothing is pinned (figures are not per core)');
out(`load generator: ${useWrk ? `wrk -t1 -c${connections}` : `autocannon, 2 workers (wrk not found: apt-get install wrk)`}`);

if (!has('nginx')) {
  out('nginx not found (it is the upstream too): apt-get install nginx');
  process.exit(1);
}
const upstream = launch('nginx', ['-e', join(dir, 'upstream-stderr.log'), '-p', dir, '-c', config('upstream-nginx.conf', PORTS.upstream)], LOAD_CPU);
await waitForPort(PORTS.upstream, upstream);

const targets: Target[] = [];
if (only.has('direct')) targets.push({ name: 'direct', port: PORTS.upstream });
const peers: [string, string, () => ChildProcess][] = [
  ['nginx', 'nginx', () => launch('nginx', ['-e', join(dir, 'nginx-stderr.log'), '-p', dir, '-c', config('nginx.conf', PORTS.nginx)], PROXY_CPU)],
  ['haproxy', 'haproxy', () => launch('haproxy', ['-db', '-f', config('haproxy.cfg', PORTS.haproxy)], PROXY_CPU)],
  ['caddy', 'caddy', () => launch('caddy', ['run', '--adapter', 'caddyfile', '--config', config('Caddyfile', PORTS.caddy)], PROXY_CPU, { GOMAXPROCS: '1', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir })],
];
for (const [name, bin, start] of peers) {
  if (!only.has(name)) continue;
  if (!has(bin)) {
    out(`${name}: skipped, ${bin} not found (apt-get install ${bin})`);
    continue;
  }
  const child = start();
  const port = PORTS[name as keyof typeof PORTS];
  await waitForPort(port, child);
  targets.push({ name, port, pid: child.pid });
}
for (const variant of ['plain', 'all']) {
  const name = variant === 'plain' ? 'hostmesh' : 'hostmesh-all';
  if (!only.has(name)) continue;
  const port = PORTS[name];
  const child = await hostmesh(variant, port);
  targets.push({ name, port, pid: child.pid });
}

// --- throughput ---------------------------------------------------------------------------

interface Load { rps: number; total: number; errors: number }

async function wrk(url: string, seconds: number): Promise<Load> {
  const argv = ['-t1', `-c${connections}`, `-d${seconds}s`, url];
  const child = spawn(pinned ? 'taskset' : 'wrk', pinned ? ['-c', String(LOAD_CPU), 'wrk', ...argv] : argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => { text += d; });
  await once(child, 'exit');
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  const total = num(/(\d+) requests in/);
  const errors = num(/Non-2xx or 3xx responses: (\d+)/) + [...text.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), total, errors };
}

async function load(url: string, seconds: number): Promise<Load> {
  if (useWrk) return wrk(url, seconds);
  const r = await autocannon(url, { seconds, connections, cpu: LOAD_CPU, workers: 2 });
  return { rps: r.rps, total: r.total, errors: r.errors + r.non2xx };
}

const results = new Map<string, { rps: number[]; cpuPerReq: number[] }>(targets.map((t) => [t.name, { rps: [], cpuPerReq: [] }]));
for (let round = 1; round <= rounds; round++) {
  out(`round ${round}/${rounds}`);
  for (const t of targets) {
    const url = `http://127.0.0.1:${t.port}/`;
    if (warmup > 0) await load(url, warmup);
    const c0 = t.pid !== undefined ? cpuSeconds(t.pid) : undefined;
    const r = await load(url, duration);
    const c1 = t.pid !== undefined ? cpuSeconds(t.pid) : undefined;
    const res = results.get(t.name)!;
    res.rps.push(r.rps);
    let extra = '';
    if (c0 !== undefined && c1 !== undefined && r.total > 0) {
      res.cpuPerReq.push((c1 - c0) / r.total);
      extra = `   proxy CPU ${((c1 - c0) / duration * 100).toFixed(0)}%, ${((c1 - c0) / r.total * 1e6).toFixed(1)} us/req`;
    }
    out(`  ${t.name.padEnd(13)} ${Math.round(r.rps).toString().padStart(7)} req/s${extra}${r.errors > 0 ? `   errors ${r.errors}` : ''}`);
  }
}

const spread = (xs: number[]): string => {
  if (xs.length < 2) return '';
  const m = median(xs);
  return ` (±${(Math.max(...xs.map((x) => Math.abs(x - m))) / m * 100).toFixed(0)}%)`;
};
out(`medians over ${rounds} round(s) (± the widest round's distance from the median); req/s follows the CPU share the`);
out('proxy gets on a shared machine, CPU per request far less: compare per CPU-second');
out(`  ${'target'.padEnd(13)} ${'req/s'.padStart(14)}   ${'us CPU/req'.padStart(10)}   ${'req per CPU-s'.padStart(13)}`);
const med = new Map<string, { rps: number; cpu?: number }>();
for (const [name, r] of results) {
  const cpu = r.cpuPerReq.length > 0 ? median(r.cpuPerReq) : undefined;
  med.set(name, { rps: median(r.rps), cpu });
  const cpuText = cpu !== undefined ? `${(cpu * 1e6).toFixed(1).padStart(10)}   ${Math.round(1 / cpu).toString().padStart(13)}` : `${'-'.padStart(10)}   ${'-'.padStart(13)}`;
  out(`  ${name.padEnd(13)} ${`${Math.round(median(r.rps))}${spread(r.rps)}`.padStart(14)}   ${cpuText}`);
}
const direct = med.get('direct');
const proxies = [...med].filter(([n]) => n !== 'direct');
if (direct !== undefined && proxies.length > 0) {
  const top = Math.max(...proxies.map(([, r]) => r.rps));
  out(`  direct / fastest proxy: ${(direct.rps / top).toFixed(2)}x (the load generator is not the limit when this is well above 1)`);
}
for (const who of ['hostmesh', 'hostmesh-all']) {
  const h = med.get(who);
  if (h === undefined) continue;
  for (const peer of ['caddy', 'nginx', 'haproxy']) {
    const p = med.get(peer);
    if (p === undefined) continue;
    const perCpu = h.cpu !== undefined && p.cpu !== undefined ? `, per CPU-second ${(p.cpu / h.cpu).toFixed(2)}x` : '';
    out(`  ${who} / ${peer}: ${(h.rps / p.rps).toFixed(2)}x req/s${perCpu}`);
  }
}

// --- open-loop latency --------------------------------------------------------------------

if (rates.length > 0 && latencySeconds > 0) {
  for (const rate of rates) {
    out(`open-loop latency at ${rate} req/s, ${latencySeconds}s x ${latencyRounds} interleaved round(s), ms from send to last byte (median of rounds)`);
    const lat = new Map<string, LatencyResult[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < latencyRounds; round++) {
      for (const t of targets) lat.get(t.name)!.push(await fixedRate(`http://127.0.0.1:${t.port}/`, rate, latencySeconds));
    }
    const q = (name: string, k: 'p50' | 'p99' | 'p999' | 'lagP99' | 'rate' | 'failed'): number => median(lat.get(name)!.map((r) => r[k]));
    const d = targets.find((t) => t.name === 'direct');
    for (const t of targets) {
      const added = d !== undefined && t !== d
        ? `   added p50 ${(q(t.name, 'p50') - q(d.name, 'p50')).toFixed(3)}  p99 ${(q(t.name, 'p99') - q(d.name, 'p99')).toFixed(3)}  p99.9 ${(q(t.name, 'p999') - q(d.name, 'p999')).toFixed(3)}`
        : '';
      const failed = q(t.name, 'failed');
      const lag = q(t.name, 'lagP99') > 1 ? '  GENERATOR LAGGED: the machine is busy, latencies include its waits' : '';
      out(`  ${t.name.padEnd(13)} p50 ${q(t.name, 'p50').toFixed(3)}  p99 ${q(t.name, 'p99').toFixed(3)}  p99.9 ${q(t.name, 'p999').toFixed(3)}${added}   (sent ${Math.round(q(t.name, 'rate'))}/s, lag p99 ${q(t.name, 'lagP99').toFixed(2)})${failed > 0 ? `   failed ${failed}` : ''}${lag}`);
    }
  }
}
process.exit(0);
