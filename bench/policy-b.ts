/**
 * `node bench/policy-b.ts [--duration S] [--rounds N] [--variants a,b]`: what split rules, the
 * sticky cookie and the access log cost per request. Each variant of bench/policy-b-proxy.ts
 * runs in its own process pinned to CPU 0 (backend and autocannon on CPU 1, when `taskset`
 * exists); rounds are interleaved and the median of requests per proxy CPU-second is reported,
 * with its ratio to the plain proxy.
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    variants: { type: 'string', default: 'plain,split,sticky,log,all' },
  },
});
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const variants = args.variants.split(',');

let pinned = true;
try { execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }); } catch { pinned = false; }
const pin = (pid: number, cpu: number) => { if (pinned) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }); };

const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill(); });
async function start(file: string, argv: string[], cpu: number): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(here(file), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const [msg] = (await once(child, 'message')) as [{ port: number }];
  pin(child.pid!, cpu);
  return { child, port: msg.port };
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function load(url: string, seconds: number): Promise<{ total: number; rps: number; bad: number }> {
  const child = fork(here('../node_modules/autocannon/autocannon.js'), ['-c', args.connections, '-d', String(seconds), '-j', url], { stdio: ['ignore', 'pipe', 'ignore', 'ipc'] });
  pin(child.pid!, 1);
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => { out += d; });
  await once(child, 'exit');
  const r = JSON.parse(out) as { requests: { total: number; average: number }; errors: number; non2xx: number };
  return { total: r.requests.total, rps: r.requests.average, bad: r.errors + r.non2xx };
}

pin(process.pid, 1);
const backend = await start('./backend.ts', [], 1);
const proxies = new Map<string, { child: ChildProcess; port: number }>();
for (const v of variants) proxies.set(v, await start('./policy-b-proxy.ts', [String(backend.port), v], 0));
process.stdout.write(`policy-b bench: ${args.connections} connections, ${args.duration}s per run, ${args.rounds} rounds${pinned ? ', proxy pinned to CPU 0' : ''}\n`);

const perCore = new Map<string, number[]>(variants.map((v) => [v, []]));
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const v of variants) {
    const p = proxies.get(v)!;
    const url = `http://127.0.0.1:${p.port}/api/items`;
    await load(url, 1);
    const c0 = cpuSeconds(p.child.pid!);
    const r = await load(url, Number(args.duration));
    const used = cpuSeconds(p.child.pid!) - c0;
    perCore.get(v)!.push(r.total / used);
    process.stdout.write(`  round ${round} ${v.padEnd(7)} ${Math.round(r.rps).toString().padStart(6)} req/s  ${Math.round(r.total / used).toString().padStart(6)} req per CPU-second${r.bad > 0 ? `  errors/non-2xx ${r.bad}` : ''}\n`);
  }
}
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(perCore.get('plain') ?? perCore.get(variants[0]!)!);
process.stdout.write('medians (requests per proxy CPU-second, and relative to plain):\n');
for (const v of variants) {
  const m = median(perCore.get(v)!);
  process.stdout.write(`  ${v.padEnd(7)} ${Math.round(m).toString().padStart(6)}  ${(m / base).toFixed(3)}\n`);
}
for (const c of children) c.disconnect();
