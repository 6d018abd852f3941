/** `hostmesh controller | proxy | standalone | demo | check`: argument parsing and wiring only. */
import { readFileSync } from 'node:fs';

const USAGE = `usage: hostmesh <command> [flags]

commands:
  standalone   run the controller on a directory of manifests and one proxy, on loopback
  demo         start two demo backends and a standalone mesh in front of them
  version      print the version
`;

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'version':
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`hostmesh ${pkg.version}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`hostmesh: unknown command "${command}" (try hostmesh --help)\n`);
      return 2;
  }
}
