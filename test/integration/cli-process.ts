/**
 * Runs the real `hostmesh` CLI in a child process with this test's Node (Node 24 under
 * `npm test`): output collected line by line, waits for a printed line, signals, exit codes.
 * Every child is killed after its test if it is still running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly stdout: string[];
  /** Complete stderr lines so far. */
  readonly stderr: string[];
  /**
   * Resolves with the first line (past or future) of `stream` matching `re`; rejects if the
   * process exits first.
   */
  line(re: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<Exit>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/**
 * Node's compile cache for this test file's children: every CLI start loads and strips the
 * types of a few hundred modules (1-2 s on a busy machine); cached, later starts take half that.
 * One directory per test process, removed when it exits.
 */
const compileCache = mkdtempSync(join(tmpdir(), 'hostmesh-compile-cache-'));
process.once('exit', () => rmSync(compileCache, { recursive: true, force: true }));

/**
 * The environment for a child: without the test runner's marker and log level, so the CLI
 * behaves as it does for a user.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: compileCache, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.HOSTMESH_LOG_LEVEL;
  return env;
}

/**
 * Starts `command` (default: this Node running `src/main.ts`) with `args`. Long-running commands
 * must be stopped by the test; they are killed after it in any case.
 */
export function spawnCli(t: TestContext, args: string[], opts: { command?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const [file, ...pre] = opts.command ?? [process.execPath, MAIN];
  const child = spawn(file!, [...pre, ...args], { cwd: opts.cwd ?? REPO, env: opts.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const partial = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (d: string) => {
      const parts = (partial[stream] + d).split('\n');
      partial[stream] = parts.pop()!;
      lines[stream].push(...parts);
      for (const w of waiters) w();
    });
  }
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream] !== '') lines[stream].push(partial[stream]);
        partial[stream] = '';
      }
      resolve({ code, signal });
      for (const w of waiters) w();
    });
  });
  let exitedNow = false;
  void exited.then(() => { exitedNow = true; });
  t.after(async () => {
    if (!exitedNow) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const describe = (): string => `stdout:\n${lines.stdout.join('\n')}\nstderr:\n${lines.stderr.join('\n')}`;
  return {
    child,
    stdout: lines.stdout,
    stderr: lines.stderr,
    exited,
    line: (re, stream = 'stdout', timeoutMs = 60_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        for (const l of lines[stream]) {
          const m = re.exec(l);
          if (m) {
            done();
            resolve(m);
            return;
          }
        }
        if (exitedNow || child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`the process exited before printing ${re} on ${stream}\n${describe()}`));
        }
      };
      // A safety net for a hung child, not a measurement.
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${stream} line matching ${re} within ${timeoutMs} ms\n${describe()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    }),
    stop: async (signal = 'SIGTERM') => {
      if (!exitedNow) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a short command to completion: exit code and all output. */
export async function runCli(t: TestContext, args: string[], opts: { command?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(t, args, opts);
  const { code } = await p.exited;
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  return { code, stdout: text(p.stdout), stderr: text(p.stderr) };
}

/** The admin base URL a standalone or demo process printed. */
export async function adminUrl(p: CliProcess): Promise<string> {
  const m = await p.line(/^admin: (http:\/\/127\.0\.0\.1:\d+) /);
  return m[1]!;
}

/** Listener ports by route from a standalone banner (`  ns/svc:port -> 127.0.0.1:PORT (...)`). */
export function bannerRoutes(lines: readonly string[]): Map<string, number> {
  const routes = new Map<string, number>();
  for (const l of lines) {
    const m = /^ {2}(\S+\/\S+:\d+) -> 127\.0\.0\.1:(\d+) \(/.exec(l);
    if (m) routes.set(m[1]!, Number(m[2]));
  }
  return routes;
}

/**
 * A port range for a child process's listeners: spread by pid so parallel test files differ,
 * below the kernel's ephemeral ports and apart from the in-process helper's 20000-29999.
 */
export function childPortRange(slot: number): string {
  const base = 11000 + ((process.pid * 53 + slot * 100) % 8900);
  return `${base}-${base + 99}`;
}

/** Runs `tasks` at most `n` at a time (CLI start-up is mostly waiting on module loading). */
export async function inBatches<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

/** `text` as a literal inside a regular expression. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
