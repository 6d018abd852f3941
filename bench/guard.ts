/**
 * `npm run bench:guard [-- flags]`: a short check that the hot path did not get slower. hostmesh
 * (plain, and a route with every stage on: bench/hostmesh-proxy.ts `all`) and the naive undici
 * proxy (bench/naive-proxy.ts) run side by side against the bench backend, on the same core; in
 * each round three autocannon processes load them at the same time (so a busy neighbour slows
 * all alike); the median over rounds of each hostmesh's requests per proxy CPU-second divided
 * by the naive proxy's (measured in the same round) is compared with the ratio recorded in
 * bench/baseline.json (`ratio`, `ratioAll`). The guard fails when either falls more than
 * `tolerance` (15%) under its record.
 *
 * Why per CPU-second and not req/s: on a shared machine a proxy's req/s follows whatever else
 * runs (and with one autocannon process, the load generator's own ceiling), while the CPU each
 * request costs moves far less; and a slower hot path shows up in CPU per request whether or
 * not it lowers req/s. Both ratios are printed.
 *
 *   --rounds N     interleaved rounds (default: baseline.json's)
 *   --duration S   seconds per measurement (default: baseline.json's)
 *   --record       measure and write the median ratio to bench/baseline.json instead of checking
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { autocannon, cpuSeconds, median, pin, startChild } from './load.ts';

interface Baseline {
  /** hostmesh req per proxy CPU-second / the naive proxy's, median over rounds. */
  ratio: number;
  /** The same for the route with every stage on (not checked when absent). */
  ratioAll?: number;
  /** Fail below ratio x (1 - tolerance). */
  tolerance: number;
  rounds: number;
  durationSeconds: number;
  connections: number;
  /** How `ratio` was measured (command, machine, spread), for whoever updates it. */
  note: string;
}

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const baselinePath = here('./baseline.json');
const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Baseline;
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: String(baseline.rounds) },
    duration: { type: 'string', default: String(baseline.durationSeconds) },
    record: { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(args.rounds));
const duration = Number(args.duration);
const connections = baseline.connections;
const out = (line: string): void => void process.stdout.write(`${line}\n`);

// With two or more CPUs the proxies share CPU 0 and the backend and autocannon CPU 1.
const split = availableParallelism() >= 2;
const PROXY_CPU = 0;
const LOAD_CPU = 1;
if (split) pin(process.pid, LOAD_CPU);

const start = (file: string, argv: string[], cpu: number) => startChild(file, argv, split ? cpu : undefined);

const backend = await start('./backend.ts', [], LOAD_CPU);
const proxies = {
  hostmesh: await start('./hostmesh-proxy.ts', [String(backend.port)], PROXY_CPU),
  all: await start('./hostmesh-proxy.ts', [String(backend.port), 'all'], PROXY_CPU),
  naive: await start('./naive-proxy.ts', [String(backend.port)], PROXY_CPU),
};

interface Sample { rps: number; perCpu: number }
/** Drives both proxies at the same time, so whatever else the machine runs hits both alike. */
async function round(seconds: number): Promise<Record<keyof typeof proxies, Sample>> {
  const names = Object.keys(proxies) as (keyof typeof proxies)[];
  const c0 = names.map((n) => cpuSeconds(proxies[n].child.pid!));
  const runs = await Promise.all(names.map((n) => autocannon(`http://127.0.0.1:${proxies[n].port}/`, { seconds, connections, cpu: split ? LOAD_CPU : undefined })));
  const c1 = names.map((n) => cpuSeconds(proxies[n].child.pid!));
  const result = {} as Record<keyof typeof proxies, Sample>;
  names.forEach((name, i) => {
    const r = runs[i]!;
    if (r.errors + r.non2xx > 0) throw new Error(`bench:guard: ${name} answered ${r.non2xx} non-2xx responses and ${r.errors} errors in ${r.total} requests`);
    const cpu = c0[i] !== undefined && c1[i] !== undefined ? c1[i]! - c0[i]! : Number.NaN;
    result[name] = { rps: r.rps, perCpu: r.total / cpu };
  });
  return result;
}

out(`bench:guard: hostmesh (plain, every stage on) vs the naive undici proxy, all loaded at once, ${rounds} rounds of ${duration}s, ${connections} connections each${split ? ', proxies on CPU 0, load on CPU 1' : ''}`);
// Warm both up (JIT, connection pools) before anything counts.
await round(1);
const perCpu: number[] = [];
const perCpuAll: number[] = [];
const rps: number[] = [];
for (let i = 1; i <= rounds; i++) {
  const { hostmesh: h, all: a, naive: n } = await round(duration);
  perCpu.push(h.perCpu / n.perCpu);
  perCpuAll.push(a.perCpu / n.perCpu);
  rps.push(h.rps / n.rps);
  out(`  round ${i}: hostmesh ${Math.round(h.rps)} req/s (${Math.round(h.perCpu)} per CPU-s), every stage ${Math.round(a.rps)} req/s (${Math.round(a.perCpu)} per CPU-s), naive ${Math.round(n.rps)} req/s (${Math.round(n.perCpu)} per CPU-s): ${(h.perCpu / n.perCpu).toFixed(3)}x and ${(a.perCpu / n.perCpu).toFixed(3)}x per CPU-s, ${(h.rps / n.rps).toFixed(3)}x req/s`);
}
for (const p of [...Object.values(proxies), backend]) p.child.kill();

const ratio = median(perCpu);
const ratioAll = median(perCpuAll);
const range = (xs: number[]): string => `${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}`;
out(`median hostmesh/naive: ${ratio.toFixed(3)}x per proxy CPU-second (rounds ${range(perCpu)}), ${median(rps).toFixed(3)}x req/s (rounds ${range(rps)})`);
out(`median every-stage/naive: ${ratioAll.toFixed(3)}x per proxy CPU-second (rounds ${range(perCpuAll)})`);

if (Number.isNaN(ratio)) {
  out('bench:guard: no CPU times (no /proc): nothing to compare');
  process.exit(1);
}
if (args.record) {
  writeFileSync(baselinePath, `${JSON.stringify({ ...baseline, ratio: Number(ratio.toFixed(3)), ratioAll: Number(ratioAll.toFixed(3)) }, null, 2)}\n`);
  out(`recorded ${ratio.toFixed(3)} and ${ratioAll.toFixed(3)} in bench/baseline.json`);
  process.exit(0);
}
let failed = false;
for (const [what, got, recorded] of [['hostmesh', ratio, baseline.ratio], ['hostmesh with every stage on', ratioAll, baseline.ratioAll]] as const) {
  if (recorded === undefined) continue;
  const floor = recorded * (1 - baseline.tolerance);
  if (got < floor) {
    failed = true;
    out(`bench:guard FAILED: ${what} serves ${got.toFixed(3)}x the naive proxy's requests per CPU-second, under ${floor.toFixed(3)}x ` +
      `(bench/baseline.json records ${recorded}x; the guard allows ${baseline.tolerance * 100}% less). ` +
      'Something on the request path got slower: profile with `npm run bench -- --cpu-prof`. If the change is deliberate, rerun with --record and commit bench/baseline.json.');
  } else out(`bench:guard: ${what} ${got.toFixed(3)}x >= ${floor.toFixed(3)}x (baseline ${recorded}x - ${baseline.tolerance * 100}%)`);
}
if (failed) process.exit(1);
out('bench:guard passed');
process.exit(0);
