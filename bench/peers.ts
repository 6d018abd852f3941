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
 * Latency: an open-loop generator at fixed rates (bench/openloop, built with Go and cached;
 * bench/fixed-rate.ts where Go is missing), interleaved rounds, the median per quantile, and
 * what each proxy adds over direct. Latency runs from each request's intended send time; the
 * generator's own scheduling lag is printed with each figure. With --realtime (the default
 * where `chrt -f` works), the generator, the upstream and every proxy run under SCHED_FIFO for
 * the latency part, so other work on a shared machine does not queue in front of them: the
 * figures are then what the proxies add, not how busy the machine was. A Node proxy's V8 helper
 * threads then run on the other core (see realtime() in bench/openloop.ts for why).
 *
 *   --duration S        seconds per throughput measurement (default 8; 0 skips throughput)
 *   --warmup S          unmeasured seconds before each (default 2)
 *   --rounds N          interleaved throughput rounds (default 3)
 *   --connections N     (default 50)
 *   --rates R,R         open-loop rates (default 1000,5000; empty skips latency)
 *   --latency-duration S  seconds per latency measurement (default 10, after 1 s of warm-up)
 *   --latency-rounds N  (default 3)
 *   --realtime on|off   SCHED_FIFO for the latency part (default on where chrt -f works)
 *   --only NAMES        comma list of direct,nginx,haproxy,caddy,hostmesh,hostmesh-all
 *   --port-base N       ports N+1..N+6 (default 22000)
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
import { canRealtime, openLoopGenerator, realtime, RT } from './openloop.ts';
import type { OpenLoopResult } from './openloop.ts';
import { autocannon, cpuSeconds, median, pin, pinned } from './load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rates: { type: 'string', default: '1000,5000' },
    'latency-duration': { type: 'string', default: '10' },
    'latency-rounds': { type: 'string', default: '3' },
    realtime: { type: 'string', default: 'on' },
    'port-base': { type: 'string', default: '22000' },
    only: { type: 'string', default: 'direct,nginx,haproxy,caddy,hostmesh,hostmesh-all' },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const rounds = duration > 0 ? Math.max(1, Number(args.rounds)) : 0;
const connections = Number(args.connections);
const rates = args.rates.split(',').filter((r) => r !== '').map(Number);
const latencySeconds = Number(args['latency-duration']);
const latencyRounds = Math.max(1, Number(args['latency-rounds']));
const only = new Set(args.only.split(','));
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const BASE = Number(args['port-base']);
const PORTS = { upstream: BASE + 1, nginx: BASE + 2, haproxy: BASE + 3, caddy: BASE + 4, hostmesh: BASE + 5, 'hostmesh-all': BASE + 6 } as const;

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

function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`process on port ${port} exited`);
    if (await listening(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function hostmesh(variant: string, port: number): Promise<ChildProcess> {
  const child = fork(here('./hostmesh-proxy.ts'), [String(PORTS.upstream), variant, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  // A proxy that dies before it listens (a broken tree) ends the run instead of hanging it.
  await Promise.race([once(child, 'message'), once(child, 'exit').then(([code]) => {
    throw new Error(`hostmesh ${variant} exited with ${String(code)} before listening`);
  })]);
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
for (const port of Object.values(PORTS)) {
  if (await listening(port)) {
    out(`port ${port} is already taken (another bench run?): pick other ports with --port-base`);
    process.exit(1);
  }
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

if (rounds > 0) {
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
}

// --- open-loop latency --------------------------------------------------------------------

if (rates.length > 0 && latencySeconds > 0) {
  const generator = openLoopGenerator();
  const rt = args.realtime !== 'off' && canRealtime();
  out(`open-loop generator: ${generator.describe}`);
  out(rt ? `SCHED_FIFO from here on: generator ${RT.generator}, upstream and proxies ${RT.server}; a Node proxy's main thread stays on CPU ${PROXY_CPU}, its V8 helper threads move to CPU ${LOAD_CPU} at ${RT.helpers}` : `normal priority${args.realtime !== 'off' ? ' (chrt -f is not allowed here)' : ''}: on a busy machine the tails include its waits`);
  if (rt) {
    realtime(upstream.pid!);
    for (const t of targets) if (t.pid !== undefined) realtime(t.pid, t.name.startsWith('hostmesh') ? LOAD_CPU : undefined);
  }
  if (rounds === 0) {
    // Without the throughput part nothing has warmed the proxies' JIT: 5 unmeasured seconds each.
    for (const t of targets) await generator.run(`http://127.0.0.1:${t.port}/`, Math.max(...rates), 5, { cpu: LOAD_CPU, realtime: rt, warmup: 0 });
  }
  for (const rate of rates) {
    out(`open-loop latency at ${rate} req/s, ${latencySeconds}s x ${latencyRounds} interleaved round(s), ms from intended send to last byte (median of rounds)`);
    const lat = new Map<string, (OpenLoopResult & { cpu: number })[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < latencyRounds; round++) {
      for (const t of targets) {
        const c0 = t.pid !== undefined ? cpuSeconds(t.pid) : undefined;
        const r = await generator.run(`http://127.0.0.1:${t.port}/`, rate, latencySeconds, { cpu: LOAD_CPU, realtime: rt });
        const c1 = t.pid !== undefined ? cpuSeconds(t.pid) : undefined;
        // CPU per request over warm-up and measurement: a proxy stalled by anything but its
        // requests shows here.
        lat.get(t.name)!.push({ ...r, cpu: c0 !== undefined && c1 !== undefined ? (c1 - c0) / (rate * (latencySeconds + 1)) * 1e6 : Number.NaN });
      }
    }
    const q = (name: string, k: 'p50' | 'p99' | 'p999' | 'lagP99' | 'rate' | 'failed' | 'cpu'): number => median(lat.get(name)!.map((r) => r[k]));
    const d = targets.find((t) => t.name === 'direct');
    const ms = (x: number): string => x.toFixed(3).padStart(7);
    out(`  ${'target'.padEnd(13)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'p99.9'.padStart(7)}   ${'added p50'.padStart(9)} ${'p99'.padStart(7)} ${'p99.9'.padStart(7)}   generator`);
    for (const t of targets) {
      const added = d !== undefined && t !== d
        ? `${ms(q(t.name, 'p50') - q(d.name, 'p50')).padStart(9)} ${ms(q(t.name, 'p99') - q(d.name, 'p99'))} ${ms(q(t.name, 'p999') - q(d.name, 'p999'))}`
        : `${'-'.padStart(9)} ${'-'.padStart(7)} ${'-'.padStart(7)}`;
      const failed = q(t.name, 'failed');
      const lagged = q(t.name, 'lagP99') > 0.5 ? '  GENERATOR LAGGED (its own p99 lag > 0.5 ms): the tails include its waits' : '';
      const cpu = Number.isNaN(q(t.name, 'cpu')) ? '' : `, proxy ${q(t.name, 'cpu').toFixed(0)} us CPU/req`;
      out(`  ${t.name.padEnd(13)} ${ms(q(t.name, 'p50'))} ${ms(q(t.name, 'p99'))} ${ms(q(t.name, 'p999'))}   ${added}   sent ${Math.round(q(t.name, 'rate'))}/s, lag p99 ${q(t.name, 'lagP99').toFixed(3)}${cpu}${failed > 0 ? `, failed ${failed}` : ''}${lagged}`);
    }
  }
}
process.exit(0);
