/** `hostmesh controller | proxy | standalone | demo | check | cleanup`: parsing and wiring only. */
import { readFileSync } from 'node:fs';
import { commandUsage, parseCommandLine, usage } from './cli/args.ts';
import { errorMessage, isHostmeshError } from './common/errors.ts';
import type { HostPort, ParsedCommand } from './cli/args.ts';
import { startDemo } from './cli/demo.ts';
import { readToken, startStandalone } from './cli/standalone.ts';
import { createLogger } from './common/log.ts';

type Runner = (cmd: ParsedCommand) => Promise<number>;

/** Resolves on SIGINT or SIGTERM: long-running commands stop gracefully (draining) then. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const runners: Record<string, Runner> = {
  standalone: async ({ flags }) => {
    const log = createLogger('hostmesh', flags['log-level'] as string);
    const mesh = await startStandalone({
      manifests: flags.manifests as string,
      portRange: flags['port-range'] as [number, number],
      admin: flags.admin as HostPort,
      dns: flags.dns as HostPort | undefined,
      zones: flags.zones as string[],
      token: readToken(flags['token-file'] as string | undefined),
      accessLog: flags['access-log'] as boolean,
      workers: flags.workers as number | 'auto',
      log,
    });
    const sig = await untilSignal();
    log.info({ signal: sig }, 'stopping: draining connections');
    await mesh.close();
    return 0;
  },
  demo: async ({ flags }) => {
    const log = createLogger('hostmesh', flags['log-level'] as string);
    const demo = await startDemo({ portRange: flags['port-range'] as [number, number], admin: flags.admin as HostPort, log });
    await untilSignal();
    await demo.close();
    return 0;
  },
  version: async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`hostmesh ${pkg.version}\n`);
    return 0;
  },
};

/** Runs one command; resolves to the exit code (long-running commands resolve when stopped). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') return main(['version']);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    process.stderr.write(`hostmesh: ${errorMessage(e)}\n`);
    return 2;
  }
  const run = runners[parsed.command];
  if (!run) {
    process.stderr.write(`hostmesh: ${parsed.command} is not available in this build\n`);
    return 2;
  }
  try {
    return await run(parsed);
  } catch (e) {
    // Start-up failures (unreadable manifests, a port in use...) are one clear line and exit 2.
    process.stderr.write(`hostmesh ${parsed.command}: ${errorMessage(e)}\n`);
    return isHostmeshError(e) ? 2 : 1;
  }
}
