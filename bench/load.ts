/** What the throughput benches share: CPU pinning, a process's CPU time, autocannon runs, medians. */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether `pin` does anything (taskset exists). */
export const pinned = hasTaskset();

/** Moves a process (all its threads) to one CPU. */
export function pin(pid: number, cpu: number): void {
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * CPU seconds a process has used (user + system, all threads), from /proc; undefined where
 * there is no /proc. Clock ticks are 1/100 s on Linux unless the kernel says otherwise.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
}

const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

/** autocannon's CLI in a child (on `cpu` when given; `workers` threads when given), its JSON summary parsed. */
export async function autocannon(url: string, opts: { seconds: number; connections: number; cpu?: number; workers?: number }): Promise<LoadResult> {
  const argv = ['-c', String(opts.connections), '-d', String(opts.seconds), '-j'];
  if (opts.workers !== undefined && opts.workers > 1) argv.push('-w', String(opts.workers));
  const child = fork(AUTOCANNON, [...argv, url], { stdio: ['ignore', 'pipe', 'ignore', 'ipc'] });
  if (opts.cpu !== undefined) pin(child.pid!, opts.cpu);
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => { out += d; });
  await once(child, 'exit');
  const r = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number };
  return { rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

export function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Children started by `startChild`; any still running are killed when the bench exits. */
export const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill(); });

/**
 * Forks a bench helper (a path relative to bench/) that reports `{ port }` over IPC once it
 * listens, and pins it to `cpu` (undefined: not pinned).
 */
export async function startChild(file: string, argv: string[], cpu: number | undefined): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const [msg] = (await once(child, 'message')) as [{ port: number }];
  if (cpu !== undefined) pin(child.pid!, cpu);
  return { child, port: msg.port };
}
