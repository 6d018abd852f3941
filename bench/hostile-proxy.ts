/**
 * The proxy of bench/hostile.ts, run as its own process (under `ulimit -n` set by the parent):
 * one HTTP listener on `--port` in front of the backend on `--backend`. Prints `ready` with the
 * fd limit and connection budget it found when listening. SIGUSR2 starts a measurement (the
 * attack begins); on SIGTERM it prints its event-loop delay and CPU use since then, and exits.
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describeGc, describeWait, gcPauses, schedstat } from './hostile-stats.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { createLogger } from '../src/common/log.ts';
import { benchTable } from './proxy-table.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, backend: { type: 'string' } } });
const engine = new ProxyEngine({ processMetrics: false, log: createLogger('bench-proxy', 'silent') });
const applied = await engine.apply(benchTable(Number(values.backend), Number(values.port)));
if (!applied.ok) throw new Error(JSON.stringify(applied));
process.stdout.write(`ready ${engine.overload.fdLimit} ${engine.overload.maxConnections}\n`);
const RESOLUTION_MS = 5;
const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loop.enable();
let cpu0 = process.cpuUsage();
let t0 = performance.now();
let sched0 = schedstat();
const gc = gcPauses();
process.on('SIGUSR2', () => {
  loop.reset();
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  sched0 = schedstat();
  gc.minor.length = 0;
  gc.major.length = 0;
});
process.on('SIGTERM', () => {
  const c = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const sched = schedstat();
  // The histogram holds the sampling intervals: what exceeds the resolution is the delay.
  const ms = (n: number): string => Math.max(0, n / 1e6 - RESOLUTION_MS).toFixed(1);
  process.stderr.write(`proxy: event-loop delay p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms; CPU ${(((c.user + c.system) / 1000) / wall * 100).toFixed(0)}% of one core\n`);
  process.stderr.write(`proxy: ${describeGc(gc, wall)}; ${describeWait(sched0, sched, wall)}\n`);
  void engine.close().then(() => process.exit(0));
});
