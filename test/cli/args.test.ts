import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMMANDS, commandUsage, parseCommandLine } from '../../src/cli/args.ts';

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'CLI_USAGE');
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    return msg;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

test('standalone flags parse into typed values with defaults', () => {
  const { flags } = parseCommandLine(['standalone', '--manifests', 'examples', '--port-range', '20000-20010', '--admin', '127.0.0.1:0', '--zones=hostmesh,traefik.mesh']);
  assert.equal(flags.manifests, 'examples');
  assert.deepEqual(flags['port-range'], [20000, 20010]);
  assert.deepEqual(flags.admin, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(flags.zones, ['hostmesh', 'traefik.mesh']);
  assert.equal(flags.workers, 1);
  assert.equal(flags['access-log'], false);
  assert.deepEqual(parseCommandLine(['proxy', '--controller', 'http://c:8440', '--node', 'n', '--token-file', 't', '--state-dir', 's', '--dns', '[::1]:53']).flags.dns, { host: '::1', port: 53 });
});

test('bad command lines give one clear line naming the flag and value', () => {
  assert.match(usageError(['standalone']), /standalone: --manifests is required/);
  assert.match(usageError(['standalone', '--manifests', 'd', '--bogus']), /standalone: Unknown option '--bogus'/);
  assert.match(usageError(['standalone', '--manifests', 'd', '--port-range', '9-3']), /--port-range: "9-3" is not a port range/);
  assert.match(usageError(['standalone', '--manifests', 'd', '--admin', 'localhost']), /--admin: "localhost" is not HOST:PORT/);
  assert.match(usageError(['standalone', '--manifests', 'd', '--workers', '0']), /--workers: "0" is not a worker count/);
  assert.match(usageError(['proxy', '--controller', 'ftp://x', '--node', 'n', '--token-file', 't', '--state-dir', 's']), /--controller: "ftp:\/\/x" must be an http/);
  assert.match(usageError(['frobnicate']), /unknown command "frobnicate"/);
  assert.match(usageError(['standalone', '--manifests', 'd', 'extra']), /standalone: Unexpected argument 'extra'/);
});

test('the parser never throws anything but a usage error', () => {
  const names = Object.keys(COMMANDS);
  fc.assert(fc.property(fc.constantFrom(...names), fc.array(fc.oneof(fc.string(), fc.constantFrom('--manifests', '--admin', '--workers', '--port-range', '--zones', '--node', '-x', '--'))), (cmd, rest) => {
    try {
      parseCommandLine([cmd, ...rest]);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'CLI_USAGE', String(e));
    }
  }), { numRuns: 300 });
});

test('every command documents every flag', () => {
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const text = commandUsage(name);
    for (const flag of Object.keys(spec.flags)) assert.ok(text.includes(`--${flag}`), `${name} --${flag}`);
  }
});
