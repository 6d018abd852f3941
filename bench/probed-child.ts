/**
 * A child process with bench/memory-probe.ts loaded, and the memory report it answers with:
 * shared by bench:memory and bench:coldstart, which measure real proxy and controller processes.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryReport } from './memory-probe.ts';

const PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

/** Forks `file` with the probe (and `--expose-gc`); the child is pushed onto `children` for cleanup. */
export function forkProbed(children: ChildProcess[], file: string, argv: string[], execArgv: string[] = []): ChildProcess {
  const child = fork(file, argv, { execArgv: ['--expose-gc', '--import', PROBE, ...execArgv], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

/** Asks a probed child for its memory report. */
export async function memoryReport(child: ChildProcess): Promise<MemoryReport> {
  const reply = new Promise<MemoryReport>((resolve) => {
    const on = (m: { memoryReport?: MemoryReport }): void => {
      if (m.memoryReport === undefined) return;
      child.off('message', on);
      resolve(m.memoryReport);
    };
    child.on('message', on);
  });
  child.send('memory-report');
  return reply;
}
