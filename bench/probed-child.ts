/**
 * A child process with bench/memory-probe.ts loaded, and the memory report it answers with:
 * shared by bench:memory, bench:coldstart and bench/scale.ts, which measure real proxy and
 * controller processes.
 *
 * The probe is loaded as plain JavaScript (its types stripped here, into bench/.probe/): a
 * process that loads one TypeScript file also loads Node's TypeScript stripper, about 17 MB of
 * RSS that the installed package (dist/, JavaScript) never has.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryReport } from './memory-probe.ts';

/**
 * `file` (a bench .ts that imports only packages and builtins) as JavaScript next to it, in
 * bench/.probe/ (so packages still resolve from the repository): what a child runs when its
 * memory must not include the TypeScript stripper.
 */
export function plainJavaScript(file: string): string {
  const dir = fileURLToPath(new URL('./.probe/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const out = `${dir}${basename(file, '.ts')}.mjs`;
  writeFileSync(out, stripTypeScriptTypes(readFileSync(file, 'utf8')));
  return out;
}

let probe: string | undefined;

/** Forks `file` with the probe (and `--expose-gc`); the child is pushed onto `children` for cleanup. */
export function forkProbed(children: ChildProcess[], file: string, argv: string[], execArgv: string[] = []): ChildProcess {
  probe ??= plainJavaScript(fileURLToPath(new URL('./memory-probe.ts', import.meta.url)));
  const child = fork(file, argv, { execArgv: ['--expose-gc', '--import', probe, ...execArgv], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
