/**
 * `node bench/workers.ts [flags]`: req/s through the proxy with 1 and 2 worker threads and
 * `auto` against the same backend in one run, with the ratios, and the proxy's RSS with 1, 2
 * and 4 workers (idle after applying a table, and after the load).
 *
 *   --duration S      seconds per measurement (default 10)
 *   --rounds N        interleaved measurements per setting; medians reported (default 3)
 *   --warmup S        unmeasured seconds before each (default 2)
 *   --connections N   autocannon connections (default 100: reuseport spreads connections)
 *   --rate-limit      add a rate limit no request reaches, so every request takes a token
 *                     from the zone (shared across workers)
 *
 * Nothing is pinned: the proxy may use every core, and on a small machine the backend and
 * the load generator compete with it, which caps what more workers can show.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { autocannon, cpuSeconds, median } from './load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '100' },
    'rate-limit': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const rounds = Math.max(1, Number(args.rounds));
const connections = Number(args.connections);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill(); });

async function start(file: string, argv: string[]): Promise<{ child: ChildProcess; port: number; rss: number }> {
  const child = fork(here(file), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const [msg] = (await once(child, 'message')) as [{ port: number; rss: number }];
  return { child, port: msg.port, rss: msg.rss };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.disconnect();
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill();
}

async function rssOf(child: ChildProcess): Promise<number> {
  child.send('rss');
  const [msg] = (await once(child, 'message')) as [{ rss: number }];
  return msg.rss;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

const cores = availableParallelism();
const limit = args['rate-limit'] ? 'on' : 'off';
process.stdout.write(`hostmesh workers bench: ${cores} cores, ${connections} connections, ${duration}s per run (${warmup}s warm-up), 100-byte responses, rate limit ${limit}\n`);
const backend = await start('./backend.ts', []);

const settings = ['1', '2', 'auto'];
const proxies = new Map<string, { child: ChildProcess; port: number; rss: number }>();
for (const w of settings) proxies.set(w, await start('./workers-proxy.ts', [String(backend.port), w, limit]));
const results = new Map<string, { rps: number[]; cpu: number[] }>(settings.map((w) => [w, { rps: [], cpu: [] }]));
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) process.stdout.write(`round ${round}/${rounds}\n`);
  for (const w of settings) {
    const p = proxies.get(w)!;
    const url = `http://127.0.0.1:${p.port}/`;
    if (warmup > 0) await autocannon(url, { seconds: warmup, connections });
    const c0 = cpuSeconds(p.child.pid!);
    const t0 = performance.now();
    const r = await autocannon(url, { seconds: duration, connections });
    const wall = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds(p.child.pid!);
    const busy = c0 !== undefined && c1 !== undefined ? (c1 - c0) / wall : undefined;
    results.get(w)!.rps.push(r.rps);
    if (busy !== undefined) results.get(w)!.cpu.push(busy);
    process.stdout.write(`  workers ${w.padEnd(5)} ${Math.round(r.rps).toString().padStart(7)} req/s   p99 ${r.p99} ms${busy !== undefined ? `   proxy CPU ${(busy * 100).toFixed(0)}%` : ''}${r.errors + r.non2xx > 0 ? `   errors/non-2xx ${r.errors + r.non2xx}` : ''}\n`);
  }
}
process.stdout.write(`medians over ${rounds} round(s):\n`);
const med = new Map([...results].map(([w, r]) => [w, median(r.rps)]));
for (const w of settings) {
  const cpu = results.get(w)!.cpu;
  // Requests per CPU-second the proxy used: its efficiency, whatever limited the run.
  const perCpu = cpu.length > 0 ? `   proxy CPU ${(median(cpu) * 100).toFixed(0)}%, ${Math.round(med.get(w)! / median(cpu))} req per CPU-second` : '';
  process.stdout.write(`  workers ${w.padEnd(5)} ${Math.round(med.get(w)!).toString().padStart(7)} req/s${perCpu}   RSS after load ${mb(await rssOf(proxies.get(w)!.child))}\n`);
}
process.stdout.write(`  2 workers / 1: ${(med.get('2')! / med.get('1')!).toFixed(2)}x   auto (${cores}) / 1: ${(med.get('auto')! / med.get('1')!).toFixed(2)}x\n`);
for (const p of proxies.values()) await stop(p.child);

process.stdout.write('proxy RSS, idle after applying the table:\n');
let base: number | undefined;
for (const w of ['1', '2', '4']) {
  const p = await start('./workers-proxy.ts', [String(backend.port), w, limit]);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rss = await rssOf(p.child);
  base ??= rss;
  process.stdout.write(`  workers ${w.padEnd(5)} ${mb(rss)}${w === '1' ? '' : `   +${mb((rss - base) / Number(w))} per worker over one in-thread engine`}\n`);
  await stop(p.child);
}
await stop(backend.child);
