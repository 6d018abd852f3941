/**
 * The real CLI (`node src/main.ts ...` in a child process): help for every command, version, and
 * mistakes on the command line or in the manifests answered with one clear line and exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { COMMANDS } from '../../src/cli/args.ts';
import { childEnv, childPortRange, inBatches, literal, MAIN, REPO, runCli } from './cli-process.ts';

const EXAMPLES = join(REPO, 'examples/standalone');

function tempDir(t: TestContext, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Exit 2, nothing on stdout, exactly one line on stderr, matching `re`. */
async function expectOneLineError(t: TestContext, args: string[], re: RegExp): Promise<void> {
  const r = await runCli(t, args);
  assert.equal(r.code, 2, `exit code of hostmesh ${args.join(' ')}\n${r.stderr}`);
  assert.equal(r.stdout, '', `nothing on stdout for hostmesh ${args.join(' ')}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr for hostmesh ${args.join(' ')}:\n${r.stderr}`);
  assert.match(lines[0]!, re);
}

test('--help for every command prints its usage and every flag, and exits 0', async (t) => {
  const runs = Object.entries(COMMANDS).map(([command, spec]) => async () => {
    const r = await runCli(t, [command, '--help']);
    assert.equal(r.code, 0, `${command} --help`);
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.startsWith(`usage: hostmesh ${command}${spec.argument ? ` ${spec.argument.value}` : ''} [flags]\n\n${spec.summary}\n`), r.stdout);
    if (spec.argument) assert.ok(r.stdout.split('\n').some((l) => l.startsWith(`  ${spec.argument!.value} `) && l.endsWith(spec.argument!.help)), `${command} --help explains ${spec.argument.value}`);
    for (const name of Object.keys(spec.flags)) assert.match(r.stdout, new RegExp(`^ {2}--${name}\\b`, 'm'), `${command} --help shows --${name}`);
  });
  // -h too, and help wins over other flags, even invalid ones: asking for help never fails.
  for (const args of [['demo', '-h'], ['standalone', '--bogus', '--help']]) {
    runs.push(async () => {
      const r = await runCli(t, args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, new RegExp(`^usage: hostmesh ${args[0]} \\[flags\\]\n`));
    });
  }
  await inBatches(runs, 3);
});

test('hostmesh --help lists every command; without a command it prints the same and exits 2; --version', async (t) => {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const [help, none, v] = await inBatches([() => runCli(t, ['--help']), () => runCli(t, []), () => runCli(t, ['--version'])], 3);
  assert.equal(help!.code, 0);
  for (const [command, spec] of Object.entries(COMMANDS)) assert.match(help!.stdout, new RegExp(`^ {2}${command} +${literal(spec.summary)}$`, 'm'));
  assert.equal(none!.code, 2);
  assert.equal(none!.stdout + none!.stderr, help!.stdout);
  assert.equal(v!.code, 0);
  assert.equal(v!.stdout, `hostmesh ${version}\n`);
  assert.equal(v!.stderr, '');
});

test('command-line mistakes: one line on stderr naming the problem, exit 2', async (t) => {
  const dir = tempDir(t);
  await inBatches([
    () => expectOneLineError(t, ['standalone', '--manifests', dir, '--bogus'], /^hostmesh: standalone: Unknown option '--bogus'$/),
    () => expectOneLineError(t, ['frobnicate'], /^hostmesh: unknown command "frobnicate" \(commands: standalone, .*\)$/),
    () => expectOneLineError(t, ['standalone'], /^hostmesh: standalone: --manifests is required \(/),
    () => expectOneLineError(t, ['standalone', '--manifests', dir, 'extra'], /^hostmesh: standalone: Unexpected argument 'extra'/),
    () => expectOneLineError(t, ['standalone', '--manifests', dir, '--admin', 'localhost'], /^hostmesh: --admin: "localhost" is not HOST:PORT \(e\.g\. 127\.0\.0\.1:9901\)$/),
    () => expectOneLineError(t, ['demo', '--log-level', 'loud'], /^hostmesh: --log-level: "loud" is not a log level \(trace, debug, info, warn, error, fatal, silent\)$/),
    async () => {
      const r = await runCli(t, ['check', '--manifests', EXAMPLES], { env: { ...childEnv(), HOSTMESH_LOG_LEVEL: 'loud' } });
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', 'hostmesh check: HOSTMESH_LOG_LEVEL: "loud" is not a log level (trace, debug, info, warn, error, fatal, silent)\n']);
    },
  ], 3);
});

test('a reader that goes away (hostmesh check | head): output stops quietly, the exit code is the check\'s', async (t) => {
  const [file, ...pre] = [process.execPath, MAIN];
  const child = spawn(file, [...pre, 'check', '--manifests', EXAMPLES], { cwd: REPO, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill());
  // The read end closes before the child writes anything: its first write gets EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '', 'no stack trace, no EPIPE message');
  assert.equal(code, 0, 'the examples check clean, as when the output is read');
});

test('bin/hostmesh.js refuses a Node.js older than 22.19 with one line', async (t) => {
  const { refuseOldNode } = await import(join(REPO, 'bin/node-version.js')) as { refuseOldNode: (v: string) => string | undefined };
  assert.equal(refuseOldNode('v20.11.1'), 'hostmesh needs Node.js 22.19 or newer; this is Node.js 20.11.1');
  assert.equal(refuseOldNode('v22.18.0'), 'hostmesh needs Node.js 22.19 or newer; this is Node.js 22.18.0');
  for (const ok of ['v22.19.0', 'v22.20.1', 'v23.0.0', 'v24.21.0']) assert.equal(refuseOldNode(ok), undefined, ok);
  // A real old Node, when the machine has one (the system node here is 20).
  const old = spawnSync('node', ['--version'], { encoding: 'utf8' });
  const version = old.status === 0 ? old.stdout.trim() : undefined;
  if (version === undefined || refuseOldNode(version) === undefined) {
    t.diagnostic(`no Node.js older than 22.19 on PATH (${version ?? 'none'}); the real-process case is skipped`);
    return;
  }
  const r = spawnSync('node', [join(REPO, 'bin/hostmesh.js'), '--version'], { encoding: 'utf8' });
  assert.deepEqual([r.status, r.stdout, r.stderr], [2, '', `hostmesh needs Node.js 22.19 or newer; this is Node.js ${version.slice(1)}\n`]);
});

test('unreadable manifests and start-up failures: one line on stderr, exit 2', async (t) => {
  const missing = join(tempDir(t), 'does-not-exist');
  const broken = tempDir(t, {
    'good.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: a, namespace: test }\nspec: { ports: [{ port: 80 }] }\n',
    'broken.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: [unclosed\n',
  });
  const occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => occupied.close(() => resolve())));
  const busy = (occupied.address() as { port: number }).port;
  await inBatches([
    () => expectOneLineError(t, ['standalone', '--manifests', missing, '--admin', '127.0.0.1:0'], new RegExp(`^hostmesh standalone: cannot read the manifest directory ${literal(missing)}: ENOENT`)),
    () => expectOneLineError(t, ['standalone', '--manifests', broken, '--admin', '127.0.0.1:0'], new RegExp(`^hostmesh standalone: ${literal(join(broken, 'broken.yaml'))}:\\d+: not valid YAML: `)),
    () => expectOneLineError(t, ['standalone', '--manifests', EXAMPLES, '--admin', '127.0.0.1:0', '--token-file', missing], new RegExp(`^hostmesh standalone: cannot read the token file ${literal(missing)}: ENOENT`)),
    () => expectOneLineError(t, ['standalone', '--manifests', EXAMPLES, '--admin', `127.0.0.1:${busy}`, '--port-range', childPortRange(1)], new RegExp(`^hostmesh standalone: .*EADDRINUSE.*127\\.0\\.0\\.1:${busy}$`)),
  ], 3);
});
