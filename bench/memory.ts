/**
 * `npm run bench:memory [-- flags]`: the memory of `hostmesh proxy --workers 1` (the CLI, as a
 * node runs it, serving a saved one-service table; no controller reachable) against a floor
 * measured in the same run: Node with exactly the packages and builtins the proxy's sources
 * imported, nothing of ours (bench/memory-floor.ts). Then RSS after a load run and an idle
 * pause, with V8's heap statistics to say what holds it. Also checks that the proxy loaded no
 * controller code.
 *
 *   --load S      seconds of autocannon load (default 60)
 *   --idle S      seconds idle after the load before measuring (default 30)
 *   --connections N  (default 50)
 *   --sources     run the TypeScript sources (src/main.ts) instead of the compiled package;
 *                 Node's type stripping then costs the proxy memory an installed one (the image
 *                 runs dist/) does not pay
 *
 * By default the sources are compiled first (tsconfig.build.json) to bench/.memory-build/ and
 * that runs, as the installed package runs dist/.
 *
 * Figures are after a memory-reducing full GC (`--expose-gc`; V8's memory reducer runs the same
 * kind on a process that has gone idle), except the "as found" RSS.
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { autocannon } from './load.ts';
import type { MemoryReport } from './memory-probe.ts';
import { forkProbed, memoryReport, plainJavaScript } from './probed-child.ts';
import { benchTable } from './proxy-table.ts';

const { values: args } = parseArgs({
  options: {
    load: { type: 'string', default: '60' },
    idle: { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    sources: { type: 'boolean', default: false },
  },
});
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const PORT = 22010;

const dir = mkdtempSync(join(tmpdir(), 'hostmesh-memory-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const start = (file: string, argv: string[], execArgv: string[] = []): ChildProcess => forkProbed(children, file, argv, execArgv);
const report = memoryReport;

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the proxy never listened on ${port}`);
}

const sleep = (s: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, s * 1000));

const backend = fork(here('./backend.ts'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
children.push(backend);
const [{ port: backendPort }] = (await once(backend, 'message')) as [{ port: number }];

writeFileSync(join(dir, 'token'), 'bench-token\n');
writeFileSync(join(dir, 'table.json'), JSON.stringify(benchTable(backendPort, PORT)));
const built = here('./.memory-build');
if (!args.sources) {
  rmSync(built, { recursive: true, force: true });
  execFileSync(process.execPath, [here('../node_modules/typescript/bin/tsc'), '-p', here('../tsconfig.build.json'), '--outDir', built], { stdio: 'inherit' });
  process.on('exit', () => rmSync(built, { recursive: true, force: true }));
}
const proxy = start(args.sources ? here('../src/main.ts') : join(built, 'main.js'), [
  'proxy', '--controller', 'http://127.0.0.1:22999', '--node', 'bench', '--token-file', join(dir, 'token'), '--state-dir', dir,
  '--bind', '127.0.0.1', '--admin', '127.0.0.1:22011', '--dns', '127.0.0.1:22012', '--workers', '1', '--log-level', 'silent',
]);
await listening(PORT);
await sleep(3);
const idle = await report(proxy);

// As JavaScript, like the compiled proxy: a TypeScript main would load Node's type stripper.
const floorChild = start(args.sources ? here('./memory-floor.ts') : plainJavaScript(here('./memory-floor.ts')), [JSON.stringify(idle.direct)]);
await once(floorChild, 'message');
await sleep(3);
const floor = await report(floorChild);
floorChild.kill();

const ours = idle.modules.filter((u) => (u.includes('/src/') || u.includes('/.memory-build/')) && !u.includes('/node_modules/'));
const controller = idle.modules.filter((u) => u.includes('/src/controller/') || u.includes('@kubernetes'));
out(`hostmesh bench:memory (\`hostmesh proxy --workers 1\` from ${args.sources ? 'the TypeScript sources' : 'compiled JavaScript, as installed'} serving a saved one-service table; figures after a memory-reducing GC)`);
out(`  floor: Node + ${idle.direct.length} packages/builtins the proxy imports (${idle.direct.filter((s) => !s.startsWith('node:')).join(', ')})`);
out(`         RSS ${mb(floor.rss)}, heap used ${mb(floor.heapUsed)}`);
out(`  proxy idle: RSS ${mb(idle.rss)}, heap used ${mb(idle.heapUsed)}: ${mb(idle.rss - floor.rss)} over the floor (issue 11's goal: within 10 MB), ${ours.length} of our modules`);
out(controller.length === 0 ? '  controller code loaded: none' : `  CONTROLLER CODE LOADED: ${controller.join(', ')}`);

/** MB per column; rows that are zero everywhere are left out. */
function table(cols: [string, MemoryReport][]): void {
  out(`  ${'MB'.padEnd(30)}${cols.map(([n]) => n.padStart(18)).join('')}`);
  const rows: [string, (r: MemoryReport) => number][] = [
    ['rss as found (before the GC)', (r) => r.rssAsFound], ['rss', (r) => r.rss], ['V8 heap committed', (r) => r.heapTotal], ['V8 heap used', (r) => r.heapUsed],
    ['external (buffers)', (r) => r.external], ['malloced by V8', (r) => r.mallocedMemory],
  ];
  for (const s of idle.spaces) rows.push([`  ${s.name} committed`, (r) => r.spaces.find((x) => x.name === s.name)?.size ?? 0]);
  for (const k of new Set([...Object.keys(floor.mappings), ...Object.keys(idle.mappings)])) rows.push([`resident: ${k}`, (r) => r.mappings[k] ?? 0]);
  for (const [name, f] of rows) {
    const v = cols.map(([, r]) => f(r));
    if (v.every((x) => x < 0.05 * 1048576)) continue;
    out(`  ${name.padEnd(30)}${v.map((x) => (x / 1048576).toFixed(1).padStart(18)).join('')}`);
  }
}

const loadSeconds = Number(args.load);
const idleSeconds = Number(args.idle);
if (loadSeconds <= 0) table([['floor', floor], ['proxy idle', idle]]);
else {
  const r = await autocannon(`http://127.0.0.1:${PORT}/`, { seconds: loadSeconds, connections: Number(args.connections) });
  const during = await report(proxy);
  await sleep(idleSeconds);
  const after = await report(proxy);
  out(`  load: ${loadSeconds}s, ${r.total} requests (${Math.round(r.rps)} req/s${r.errors + r.non2xx > 0 ? `, ${r.errors + r.non2xx} errors` : ''})`);
  out(`  right after the load: RSS ${mb(during.rss)}`);
  out(`  after ${idleSeconds}s idle: RSS ${mb(after.rss)} = ${(after.rss / idle.rss).toFixed(2)}x idle (goal: within 1.3x)`);
  table([['floor', floor], ['proxy idle', idle], ['after load + idle', after]]);
}
proxy.kill('SIGTERM');
backend.kill();
process.exit(0);
