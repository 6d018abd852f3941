/**
 * `node bench/rules.ts [--duration S] [--rounds N] [--baseline DIR]`: what route rules cost per
 * request, end to end. Proxies in their own processes (pinned to CPU 0 when `taskset` exists;
 * backend and load on CPU 1), rounds interleaved, median requests per proxy CPU-second:
 *
 *   plain       no rules (today's path)
 *   rules10     ten Gateway API rules (PathPrefix + header match each), none matching: every
 *               request evaluates all ten and goes to the route's backends
 *   rules10-hit the same ten rules, the last one matching: every request runs a rule's branch
 *   baseline    `plain` from another checkout (--baseline DIR, e.g. a worktree of main), to
 *               show that a route without rules did not get slower
 */
import { parseArgs } from 'node:util';
import { autocannon, children, cpuSeconds, median, pin, pinned, startChild } from './load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    baseline: { type: 'string' },
  },
});

pin(process.pid, 1);
const backend = await startChild('./backend.ts', [], 1);
const variants: [name: string, file: string, variant: string][] = [
  ['plain', './backend-choice-proxy.ts', 'plain'],
  ['rules10', './backend-choice-proxy.ts', 'rules10'],
  ['rules10-hit', './backend-choice-proxy.ts', 'rules10-hit'],
];
if (args.baseline !== undefined) variants.unshift(['baseline', `${args.baseline.replace(/\/$/, '')}/bench/backend-choice-proxy.ts`, 'plain']);
const proxies = new Map<string, Awaited<ReturnType<typeof startChild>>>();
for (const [name, file, variant] of variants) {
  proxies.set(name, await startChild(file.startsWith('/') ? `file://${file}` : file, [String(backend.port), variant], 0));
}
process.stdout.write(`rules bench: ${args.connections} connections, ${args.duration}s per run, ${args.rounds} rounds${pinned ? ', proxy pinned to CPU 0' : ''}\n`);

const perCore = new Map<string, number[]>(variants.map(([n]) => [n, []]));
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const [name] of variants) {
    const p = proxies.get(name)!;
    const url = `http://127.0.0.1:${p.port}/api/items`;
    const load = { connections: Number(args.connections), cpu: 1 };
    await autocannon(url, { ...load, seconds: 1 });
    const c0 = cpuSeconds(p.child.pid!) ?? NaN;
    const r = await autocannon(url, { ...load, seconds: Number(args.duration) });
    const used = (cpuSeconds(p.child.pid!) ?? NaN) - c0;
    perCore.get(name)!.push(r.total / used);
    process.stdout.write(`  round ${round} ${name.padEnd(11)} ${Math.round(r.rps).toString().padStart(6)} req/s  ${Math.round(r.total / used).toString().padStart(6)} req per CPU-second${r.errors + r.non2xx > 0 ? `  errors/non-2xx ${r.errors + r.non2xx}` : ''}\n`);
  }
}
const base = median(perCore.get('plain')!);
process.stdout.write('medians (requests per proxy CPU-second, and relative to plain):\n');
for (const [name] of variants) {
  const m = median(perCore.get(name)!);
  process.stdout.write(`  ${name.padEnd(11)} ${Math.round(m).toString().padStart(6)}  ${(m / base).toFixed(3)}\n`);
}
for (const c of children) c.disconnect();
