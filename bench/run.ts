/**
 * `npm run bench [-- flags]`: throughput and latency of hostmesh's proxy against a naive undici
 * proxy and against the backend alone, in one run on this machine.
 *
 *   --duration S       seconds per throughput measurement (default 10)
 *   --rounds N         measurements per scenario, interleaved; medians are reported (default 3)
 *   --warmup S         unmeasured seconds before each (default 2)
 *   --connections N    autocannon connections (default 50)
 *   --rate R           open-loop requests per second for the latency mode (default 1000)
 *   --latency-duration S  seconds of the latency mode (default 10; 0 skips it)
 *   --only NAMES       comma list of direct,hostmesh,naive (default all)
 *   --cpu-prof         write CPU profiles of both proxies to bench/profiles/{hostmesh,naive}/
 *   --tracing R1,R2    also run hostmesh with span export at these sampling ratios (e.g. 0.01,1),
 *                      to a local OTLP sink; each is compared with hostmesh without tracing
 *   --tap R1,R2        also run hostmesh with its route tapped, at most R events a second (e.g.
 *                      100,100000); each is compared with hostmesh untapped
 *   --acl              also run hostmesh in ACL mode, twice: `acl`, the load generator's address
 *                      an allowed identity whose grant has path and method matches (every
 *                      request is checked), and `acl-all`, the same identity allowed every
 *                      request (only the connection's cached decision is read); each compared
 *                      with hostmesh without ACL
 *   --together         load every proxied scenario of a round at the same time (one autocannon
 *                      each, as bench:guard does), so whatever else the machine runs slows them
 *                      alike; compare per CPU-second (req/s is shared between them)
 *
 * With `taskset` available the proxies run pinned to CPU 0 and the backend and the load
 * generator to CPU 1, so a proxy gets exactly one core.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openLoopGenerator } from './openloop.ts';
import { autocannon, cpuSeconds, median, pin, pinned } from './load.ts';
import type { LoadResult } from './load.ts';
import type { LatencyResult } from './fixed-rate.ts';

const { values: args } = parseArgs({
  options: {
    'duration': { type: 'string', default: '10' },
    'rounds': { type: 'string', default: '3' },
    'warmup': { type: 'string', default: '2' },
    'connections': { type: 'string', default: '50' },
    'rate': { type: 'string', default: '1000' },
    'latency-duration': { type: 'string', default: '10' },
    'only': { type: 'string', default: 'direct,hostmesh,naive' },
    'cpu-prof': { type: 'boolean', default: false },
    'tracing': { type: 'string', default: '' },
    'tap': { type: 'string', default: '' },
    'acl': { type: 'boolean', default: false },
    'together': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const rounds = Math.max(1, Number(args.rounds));
const only = new Set(args.only.split(','));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const children: ChildProcess[] = [];
async function start(file: string, argv: string[], cpu: number, execArgv: string[] = [], env?: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(here(file), argv, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  children.push(child);
  const [msg] = (await once(child, 'message')) as [{ port: number }];
  pin(child.pid!, cpu);
  return { child, port: msg.port };
}
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.disconnect();
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (child.exitCode === null) child.kill();
}
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill(); });

/** Measures `url`; `pid` is the proxy whose CPU use per request is reported (none for direct). */
async function measure(name: string, url: string, pid?: number): Promise<LoadResult & { perCore?: number; busy?: number }> {
  if (warmup > 0) await autocannon(url, { seconds: warmup, connections, cpu: 1 });
  const cpu0 = pid === undefined ? undefined : cpuSeconds(pid);
  const t0 = performance.now();
  const r = await autocannon(url, { seconds: duration, connections, cpu: 1 });
  return report(name, r, (performance.now() - t0) / 1000, cpu0, pid === undefined ? undefined : cpuSeconds(pid));
}

/** `--together`: the targets loaded at once, each by its own autocannon. */
async function measureTogether(targets: { name: string; url: string; pid?: number }[]): Promise<(LoadResult & { perCore?: number })[]> {
  if (warmup > 0) await Promise.all(targets.map((t) => autocannon(t.url, { seconds: warmup, connections, cpu: 1 })));
  const cpu0 = targets.map((t) => (t.pid === undefined ? undefined : cpuSeconds(t.pid)));
  const t0 = performance.now();
  const rs = await Promise.all(targets.map((t) => autocannon(t.url, { seconds: duration, connections, cpu: 1 })));
  const wall = (performance.now() - t0) / 1000;
  return targets.map((t, i) => report(t.name, rs[i]!, wall, cpu0[i], t.pid === undefined ? undefined : cpuSeconds(t.pid)));
}

function report(name: string, r: LoadResult, wall: number, cpu0: number | undefined, cpu1: number | undefined): LoadResult & { perCore?: number; busy?: number } {
  let extra = '';
  let perCore: number | undefined;
  let busy: number | undefined;
  if (cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0) {
    // Requests per CPU-second of the proxy: its capacity on one fully busy core, whatever
    // limited this run (on 2 CPUs the load generator often does).
    perCore = r.total / (cpu1 - cpu0);
    busy = (cpu1 - cpu0) / wall;
    extra = `   proxy CPU ${(busy * 100).toFixed(0)}%, ${Math.round(perCore)} req per CPU-second`;
  }
  process.stdout.write(`  ${name.padEnd(10)} ${Math.round(r.rps).toString().padStart(8)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms${extra}${r.errors + r.non2xx > 0 ? `   errors ${r.errors} non-2xx ${r.non2xx}` : ''}\n`);
  return { ...r, perCore, busy };
}

pin(process.pid, 1);
process.stdout.write(`hostmesh bench: ${connections} connections, ${duration}s per run (${warmup}s warm-up), 100-byte responses\n`);
process.stdout.write(pinned ? 'pinning: proxy on CPU 0; backend and load generator on CPU 1\n' : 'taskset not found: processes are not pinned\n');

const backend = await start('./backend.ts', [], 1);
const profDir = here('./profiles');
const prof = (name: string): string[] => {
  if (!args['cpu-prof']) return [];
  mkdirSync(`${profDir}/${name}`, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${profDir}/${name}`];
};
const proxies = new Map<string, { child: ChildProcess; port: number }>();
proxies.set('hostmesh', await start('./hostmesh-proxy.ts', [String(backend.port)], 0, prof('hostmesh')));
if (only.has('naive')) proxies.set('naive', await start('./naive-proxy.ts', [String(backend.port)], 0, prof('naive')));
// Tracing variants: the same proxy exporting spans to a local collector (on the load's CPU).
const tracingRatios = args.tracing === '' ? [] : args.tracing.split(',').map(Number);
const sink = tracingRatios.length > 0 ? await start('./otlp-sink.ts', [], 1) : undefined;
const traced = tracingRatios.map((r) => `trace ${r * 100}%`);
for (const [i, r] of tracingRatios.entries()) {
  proxies.set(traced[i]!, await start('./hostmesh-proxy.ts', [String(backend.port)], 0, [], { HOSTMESH_BENCH_TRACING: `http://127.0.0.1:${sink!.port},${r}` }));
}
// Tapped variants: the same proxy with a tap on its route (events drained every second).
const tapRates = args.tap === '' ? [] : args.tap.split(',').map(Number);
const tapped = tapRates.map((r) => `tap ${r}/s`);
for (const [i, r] of tapRates.entries()) {
  proxies.set(tapped[i]!, await start('./hostmesh-proxy.ts', [String(backend.port)], 0, [], { HOSTMESH_BENCH_TAP: String(r) }));
}

// ACL mode: the same proxy with an access policy (docs/smi.md) that lets the load generator in.
const acl = args.acl ? ['acl', 'acl-all'] : [];
if (args.acl) {
  proxies.set('acl', await start('./hostmesh-proxy.ts', [String(backend.port)], 0, [], { HOSTMESH_BENCH_ACL: '1' }));
  proxies.set('acl-all', await start('./hostmesh-proxy.ts', [String(backend.port)], 0, [], { HOSTMESH_BENCH_ACL: 'all' }));
}

type Result = LoadResult & { perCore?: number };
const scenarios = [...['direct', 'hostmesh', 'naive'].filter((n) => only.has(n)), ...traced, ...tapped, ...acl];
const all = new Map<string, Result[]>(scenarios.map((n) => [n, []]));
// Interleaved rounds: drifts of a shared machine hit every scenario alike.
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) process.stdout.write(`round ${round}/${rounds}\n`);
  const targets = scenarios.map((name) => {
    const proxy = proxies.get(name);
    return { name, url: `http://127.0.0.1:${proxy?.port ?? backend.port}/`, pid: proxy?.child.pid };
  });
  if (args.together) {
    // The backend alone is measured on its own: it would take the load generator's CPU.
    const proxied = targets.filter((t) => t.pid !== undefined);
    for (const t of targets.filter((x) => x.pid === undefined)) all.get(t.name)!.push(await measure(t.name, t.url));
    (await measureTogether(proxied)).forEach((r, i) => all.get(proxied[i]!.name)!.push(r));
  } else {
    for (const t of targets) all.get(t.name)!.push(await measure(t.name, t.url, t.pid));
  }
}

const results = new Map<string, { rps: number; perCore?: number }>();
for (const [name, rs] of all) {
  const perCores = rs.map((r) => r.perCore).filter((x): x is number => x !== undefined);
  results.set(name, { rps: median(rs.map((r) => r.rps)), perCore: perCores.length > 0 ? median(perCores) : undefined });
}
process.stdout.write(`medians over ${rounds} round(s):\n`);
for (const [name, r] of results) {
  process.stdout.write(`  ${name.padEnd(10)} ${Math.round(r.rps).toString().padStart(8)} req/s${r.perCore !== undefined ? `   ${Math.round(r.perCore)} req per proxy CPU-second` : ''}\n`);
}

/**
 * Ratios of medians, and, with several rounds, the median of the per-round ratios: each round
 * measures the two back to back, so a round's ratio is what drift on a shared machine disturbs
 * least.
 */
const ratio = (a: string, b: string) => {
  const x = results.get(a);
  const y = results.get(b);
  if (x && y) {
    const eff = x.perCore !== undefined && y.perCore !== undefined ? `, per CPU-second ${(x.perCore / y.perCore).toFixed(2)}x` : '';
    const xs = all.get(a)!;
    const ys = all.get(b)!;
    const paired = xs.map((r, i) => [r.perCore, ys[i]?.perCore]).filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined);
    const perRound = rounds > 1 && paired.length > 0 ? ` (median of per-round ratios: ${median(xs.map((r, i) => r.rps / ys[i]!.rps)).toFixed(2)}x req/s, per CPU-second ${median(paired.map(([p, q]) => p / q)).toFixed(2)}x)` : '';
    process.stdout.write(`  ${a} / ${b}: ${(x.rps / y.rps).toFixed(2)}x req/s${eff}${perRound}\n`);
  }
};
ratio('hostmesh', 'naive');
ratio('hostmesh', 'direct');
ratio('naive', 'direct');
for (const name of [...traced, ...tapped, ...acl]) ratio(name, 'hostmesh');

const latencySeconds = Number(args['latency-duration']);
if (latencySeconds > 0) {
  const rate = Number(args.rate);
  process.stdout.write(`open-loop latency at ${rate} req/s for ${latencySeconds}s (ms from the scheduled send time)\n`);
  const show = (name: string, r: LatencyResult) => process.stdout.write(`  ${name.padEnd(10)} p50 ${r.p50.toFixed(3)}   p99 ${r.p99.toFixed(3)}   p99.9 ${r.p999.toFixed(3)}   max ${r.max.toFixed(3)}${r.failed > 0 ? `   failed ${r.failed}` : ''}\n`);
  const generator = openLoopGenerator();
  process.stdout.write(`  generator: ${generator.describe}\n`);
  const direct = await generator.run(`http://127.0.0.1:${backend.port}/`, rate, latencySeconds);
  show('direct', direct);
  const proxied = await generator.run(`http://127.0.0.1:${proxies.get('hostmesh')!.port}/`, rate, latencySeconds);
  show('hostmesh', proxied);
  process.stdout.write(`  added by hostmesh: p50 ${(proxied.p50 - direct.p50).toFixed(3)} ms, p99 ${(proxied.p99 - direct.p99).toFixed(3)} ms\n`);
}

for (const p of proxies.values()) await stop(p.child);
await stop(backend.child);
if (sink !== undefined) await stop(sink.child);
if (args['cpu-prof']) process.stdout.write(`CPU profiles written to ${profDir}/hostmesh and ${profDir}/naive\n`);
