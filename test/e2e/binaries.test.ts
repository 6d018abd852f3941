/**
 * The real commands as processes: `hostmesh controller` with a kubeconfig file pointing at the
 * fake API server and one `hostmesh proxy`; a request flows through them, and SIGTERM stops both
 * with exit 0. Then the exit code and the one-line message of common start-up mistakes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startDemoBackend } from '../../src/demo/backend.ts';
import type { RouteSummary } from '../../src/proxy/engine.ts';
import { startFakeApiServer } from '../support/kube.ts';
import { backendSlice, eventually, get, portRange, webService } from './mesh.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
/** The children are commands, not test files. */
const { NODE_TEST_CONTEXT: _testContext, ...ENV } = process.env;

interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function hostmesh(t: TestContext, args: string[]): Child {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('hostmesh controller and hostmesh proxy as processes: a request flows; SIGTERM stops both cleanly', async (t) => {
  const backend = await startDemoBackend({ name: 'web', version: 'v1', host: '127.0.0.1', port: 0 });
  t.after(() => backend.close());
  const fake = await startFakeApiServer(t);
  fake.create('services', webService('shop', 'web'));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-a', backend.port));
  const dir = tempDir(t);
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeconfig().exportConfig());
  writeFileSync(join(dir, 'token'), 'binary-token\n');
  const [from, to] = portRange();

  const controller = hostmesh(t, ['controller', '--listen', '127.0.0.1:0', '--mesh-namespace', 'hostmesh', '--token-file', join(dir, 'token'),
    '--proxy-selector', 'app.kubernetes.io/name=hostmesh,app.kubernetes.io/component=proxy', '--kubeconfig', join(dir, 'kubeconfig'),
    '--port-range', `${from}-${to}`, '--log-level', 'warn']);
  const api = await eventually('the controller banner', async () => /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(controller.stdout())?.[1] ?? (controller.proc.exitCode === null ? undefined : assert.fail(controller.stderr())));
  await eventually('the controller to be ready', async () => (await get(`${api}/readyz`)).status === 200);

  const proxy = hostmesh(t, ['proxy', '--controller', api, '--node', 'bin-node', '--token-file', join(dir, 'token'), '--state-dir', join(dir, 'state'),
    '--bind', '127.0.0.1', '--admin', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--workers', '1', '--log-level', 'warn']);
  const admin = await eventually('the proxy banner', async () => /admin: (http:\/\/127\.0\.0\.1:\d+)/.exec(proxy.stdout())?.[1] ?? (proxy.proc.exitCode === null ? undefined : assert.fail(proxy.stderr())));
  await eventually('the proxy to be ready', async () => (await get(`${admin}/readyz`)).status === 200);
  const routes = JSON.parse((await get(`${admin}/v1/routes?format=json`)).body) as { routes: RouteSummary[] };
  assert.deepEqual(routes.routes.map((r) => r.route), ['shop/web:80']);
  const answer = await get(`http://${routes.routes[0]!.listen}/through`);
  assert.deepEqual([answer.status, answer.body], [200, 'web v1: GET /through\n']);
  const status = JSON.parse((await get(`${api}/v1/status`, { authorization: 'Bearer binary-token' })).body) as { version: number; proxies: { node: string; appliedVersion: number }[] };
  assert.deepEqual(status.proxies.map((p) => [p.node, p.appliedVersion]), [['bin-node', status.version]]);

  proxy.proc.kill('SIGTERM');
  controller.proc.kill('SIGTERM');
  assert.equal(await proxy.exited, 0, proxy.stderr());
  assert.equal(await controller.exited, 0, controller.stderr());
});

test('start-up mistakes: one line on stderr and exit 2', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'empty'), '\n');
  // The rest of the start-up errors are tested in-process (test/cli/commands.test.ts); these show the plumbing.
  const cases: [string[], RegExp][] = [
    [['controller', '--mesh-namespace', 'hostmesh', '--token-file', join(dir, 'empty'), '--proxy-selector', 'app=proxy'], /^hostmesh controller: the token file .*empty is empty$/],
    [['check'], /^hostmesh check: give --manifests DIR/],
  ];
  const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { env: ENV, encoding: 'utf8', timeout: 30_000 }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), message);
    assert.equal(r.stdout, '');
  }
});
