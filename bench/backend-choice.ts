/**
 * `node bench/backend-choice.ts [--duration S] [--rounds N] [--variants a,b] [--baseline DIR]`:
 * what split rules, route rules (`rules10`, `rules10-hit`), the sticky cookie and the access log
 * cost per request. `--baseline DIR` adds `baseline`: the plain proxy of another checkout (e.g.
 * a worktree of main), to show a route without rules got no slower. Each variant of bench/backend-choice-proxy.ts
 * runs in its own process pinned to CPU 0 (backend and autocannon on CPU 1, when `taskset`
 * exists); rounds are interleaved and the median of requests per proxy CPU-second is reported,
 * with its ratio to the plain proxy.
 */
import { parseArgs } from 'node:util';
import { autocannon, cpuSeconds, median, pin, pinned, startChild, children } from './load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    variants: { type: 'string', default: 'plain,split,sticky,log,all' },
    baseline: { type: 'string' },
  },
});
const variants = args.variants.split(',');
if (args.baseline !== undefined) variants.unshift('baseline');

const start = startChild;

pin(process.pid, 1);
const backend = await start('./backend.ts', [], 1);
const proxies = new Map<string, Awaited<ReturnType<typeof startChild>>>();
for (const v of variants) {
  const file = v === 'baseline' ? `file://${args.baseline!.replace(/\/$/, '')}/bench/backend-choice-proxy.ts` : './backend-choice-proxy.ts';
  proxies.set(v, await start(file, [String(backend.port), v === 'baseline' ? 'plain' : v], 0));
}
process.stdout.write(`backend-choice bench: ${args.connections} connections, ${args.duration}s per run, ${args.rounds} rounds${pinned ? ', proxy pinned to CPU 0' : ''}\n`);

const perCore = new Map<string, number[]>(variants.map((v) => [v, []]));
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const v of variants) {
    const p = proxies.get(v)!;
    const url = `http://127.0.0.1:${p.port}/api/items`;
    const load = { connections: Number(args.connections), cpu: 1 };
    await autocannon(url, { ...load, seconds: 1 });
    const c0 = cpuSeconds(p.child.pid!) ?? NaN;
    const r = await autocannon(url, { ...load, seconds: Number(args.duration) });
    const used = (cpuSeconds(p.child.pid!) ?? NaN) - c0;
    perCore.get(v)!.push(r.total / used);
    process.stdout.write(`  round ${round} ${v.padEnd(7)} ${Math.round(r.rps).toString().padStart(6)} req/s  ${Math.round(r.total / used).toString().padStart(6)} req per CPU-second${r.errors + r.non2xx > 0 ? `  errors/non-2xx ${r.errors + r.non2xx}` : ''}\n`);
  }
}
const base = median(perCore.get('plain') ?? perCore.get(variants[0]!)!);
process.stdout.write('medians (requests per proxy CPU-second, and relative to plain):\n');
for (const v of variants) {
  const m = median(perCore.get(v)!);
  process.stdout.write(`  ${v.padEnd(7)} ${Math.round(m).toString().padStart(6)}  ${(m / base).toFixed(3)}\n`);
}
for (const c of children) c.disconnect();
