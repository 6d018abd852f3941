/**
 * The open-loop latency generator the benches use: bench/openloop (a small Go program, no
 * dependencies: one thread, one epoll loop over raw sockets, woken by a timerfd at each
 * request's due time), built once per change of its sources and Go version and cached outside
 * the repository like the cluster tier's Go builds. Latency runs from each request's intended
 * send time, so nothing is omitted when a response is slow; the generator's own scheduling lag
 * (how late it got to each request) comes with every result, so a run can be judged.
 *
 * Without Go (or when the build fails) the benches fall back to bench/fixed-rate.ts (undici in
 * this process, on Node's millisecond timers), saying so in one line: its own lag is far larger.
 *
 * With `realtime`, the generator runs under SCHED_FIFO (`chrt -f`, above what it measures): on a machine shared with
 * other work, a normal-priority generator waits behind whatever else is runnable on its core,
 * and that wait lands in every figure (tens of ms at a load average of 30 on 2 cores).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGo } from '../test/cluster/build.ts';
import { fixedRate } from './fixed-rate.ts';
import type { LatencyResult } from './fixed-rate.ts';

const SOURCE = fileURLToPath(new URL('./openloop/', import.meta.url));

export interface OpenLoopResult extends LatencyResult {
  /** Generator scheduling lag quantiles, ms (undici fallback: lagP99 only). */
  lagP50?: number;
  lagP999?: number;
}

export interface Generator {
  /** One line naming the generator (and why it is the fallback, if it is). */
  describe: string;
  /** Whether it reports its lag precisely enough to judge sub-millisecond tails. */
  precise: boolean;
  run(url: string, rate: number, seconds: number, opts?: { cpu?: number; realtime?: boolean; warmup?: number }): Promise<OpenLoopResult>;
}

/** Whether this process may put processes under SCHED_FIFO (root, or CAP_SYS_NICE). */
export function canRealtime(): boolean {
  try {
    execFileSync('chrt', ['-f', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** SCHED_FIFO priorities of the latency part: the generator above all, then what serves. */
export const RT = { generator: 30, server: 20, helpers: 10 } as const;

/**
 * Puts a running process under SCHED_FIFO at `RT.server`. With `helpersCpu` (Node), only its
 * main thread stays there; its other threads (V8's compiler and GC helpers, the inspector) move
 * to `helpersCpu` at `RT.helpers`. They must run somewhere: a main thread at a higher FIFO
 * priority on the same core starves them, and V8 then keeps re-posting the main-thread task
 * that waits for their progress (an event-loop spin at the RT throttle's 95% cap, seen here).
 */
export function realtime(pid: number, helpersCpu?: number): void {
  const run = (cmd: string, argv: string[]): void => void execFileSync(cmd, argv, { stdio: 'ignore' });
  try {
    if (helpersCpu === undefined) {
      run('chrt', ['-a', '-f', '-p', String(RT.server), String(pid)]);
      return;
    }
    const mainCpu = execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' }).trim().split(' ').pop()!;
    run('taskset', ['-a', '-c', '-p', String(helpersCpu), String(pid)]);
    run('chrt', ['-a', '-f', '-p', String(RT.helpers), String(pid)]);
    run('taskset', ['-c', '-p', mainCpu, String(pid)]);
    run('chrt', ['-f', '-p', String(RT.server), String(pid)]);
  } catch {
    // gone already: its own exit is reported where it was started
  }
}

function cacheDir(go: string): string {
  const hash = createHash('sha256').update(execFileSync(go, ['version'], { encoding: 'utf8' }));
  for (const f of readdirSync(SOURCE).toSorted()) if (/\.go$|^go\.(mod|sum)$/.test(f)) hash.update(`${f}\0`).update(readFileSync(join(SOURCE, f)));
  const root = process.env['HOSTMESH_BENCH_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'hostmesh-bench');
  return join(root, `openloop-${hash.digest('hex').slice(0, 16)}`);
}

/** The built generator's path, or why there is none. */
function build(): { bin: string } | { why: string } {
  const go = findGo();
  if (go === undefined) return { why: 'no Go toolchain (go on PATH, /usr/local/go/bin/go or $GO)' };
  const dir = cacheDir(go);
  const bin = join(dir, 'openloop');
  if (existsSync(bin)) return { bin };
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(go, ['build', '-trimpath', '-o', join(tmp, 'openloop'), '.'], {
      cwd: SOURCE, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', GOTOOLCHAIN: 'local' },
    });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { bin };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? String(err);
    return { why: `building bench/openloop with ${go} failed: ${stderr}` };
  }
}

async function runOpenLoop(bin: string, url: string, rate: number, seconds: number, opts: { cpu?: number; realtime?: boolean; warmup?: number }): Promise<OpenLoopResult> {
  const { host } = new URL(url);
  const { pathname } = new URL(url);
  let argv = [bin, '-addr', host, '-path', pathname, '-rate', String(rate), '-duration', String(seconds), '-warmup', String(opts.warmup ?? 1)];
  if (opts.cpu !== undefined) argv = ['taskset', '-c', String(opts.cpu), ...argv];
  if (opts.realtime === true) argv = ['chrt', '-f', String(RT.generator), ...argv];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-2000); });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`openloop exited with ${code}: ${err.trim()}`);
  const r = JSON.parse(out) as Record<string, number>;
  return {
    sent: r['sent']!, failed: r['failed']! + r['non2xx']!, rate: r['rate']!, p50: r['p50']!, p99: r['p99']!, p999: r['p999']!, max: r['max']!,
    lagP50: r['lagP50']!, lagP99: r['lagP99']!, lagP999: r['lagP999']!,
  };
}

/** The Go generator when it builds here, else the undici fallback. */
export function openLoopGenerator(): Generator {
  const built = build();
  if ('bin' in built) {
    const { bin } = built;
    return {
      describe: `bench/openloop (Go, epoll + timerfd, latency from each intended send time; ${bin})`,
      precise: true,
      run: (url, rate, seconds, opts = {}) => runOpenLoop(bin, url, rate, seconds, opts),
    };
  }
  return {
    describe: `bench/fixed-rate.ts (undici on Node timers; its own lag is ~1-4 ms, tails are noise) because ${built.why}`,
    precise: false,
    run: (url, rate, seconds, opts = {}) => fixedRate(url, rate, seconds, opts.warmup ?? 1),
  };
}
