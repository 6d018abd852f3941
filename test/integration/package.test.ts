/**
 * What ships runs from an installed copy: `npm pack` (whose prepack builds dist/) in a staging
 * copy of the project, `npm install --offline` of the tarball into an empty project, then the
 * installed `hostmesh` runs with Node 24 and type stripping turned off (it must run dist/, never
 * a .ts file), and the tarball holds no tests and no sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { adminUrl, bannerRoutes, childEnv, childPortRange, REPO, spawnCli } from './cli-process.ts';

const run = promisify(execFile);

interface Pkg {
  version: string;
  files: string[];
  bin: Record<string, string>;
}

/** npm run by this Node (npm's own shebang would pick whatever `node` comes first on PATH). */
function npm(): string[] {
  return process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
}

/**
 * The environment for npm and the installed command: Node 24 first on PATH, none of the outer
 * `npm test`'s lifecycle and package variables (its prefix would point npm back at this repo),
 * but its cache and registry settings kept so the offline install finds what `npm ci` fetched.
 */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = childEnv(extra);
  for (const k of Object.keys(e)) if (/^npm_(lifecycle_|package_|command$|config_local_prefix$)/.test(k)) delete e[k];
  e.PATH = [dirname(process.execPath), e.PATH ?? ''].join(delimiter);
  return e;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(dir, join(d.parentPath, d.name)));
}

/** A server on 127.0.0.1:`port` for the example's backend, or undefined when the port is taken. */
async function exampleBackend(port: number): Promise<Server | undefined> {
  const server = createServer((req, res) => res.end(`example backend: ${req.method} ${req.url}`));
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('npm pack ships dist/ without tests or sources, and the installed hostmesh runs with Node 24', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Pkg;
  const work = mkdtempSync(join(tmpdir(), 'hostmesh-package-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // Pack a staging copy: prepack writes dist/, which must not land in the checkout (bin/hostmesh.js
  // would then prefer a stale dist/ over the sources there).
  const distBefore = existsSync(join(REPO, 'dist'));
  const stage = join(work, 'stage');
  mkdirSync(stage);
  const copied = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src', ...pkg.files.filter((f) => !f.startsWith('dist'))];
  for (const f of copied) if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(stage, f), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const packed = await run(npm()[0]!, [...npm().slice(1), 'pack', '--json', '--pack-destination', work], { cwd: stage, env: env(), timeout: 120_000 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[]; size: number }[];
  const shipped = info!.files.map((f) => f.path).toSorted();
  t.diagnostic(`${info!.filename}: ${shipped.length} files, ${(info!.size / 1024).toFixed(0)} KiB`);

  for (const required of ['package.json', 'README.md', 'bin/hostmesh.js', 'dist/cli.js', 'dist/main.js', 'examples/standalone/echo.yaml', 'charts/hostmesh/Chart.yaml']) {
    assert.ok(shipped.includes(required), `the tarball has ${required}`);
  }
  const unwanted = shipped.filter((p) => /^(test|bench|scripts|src|docs|\.ci|node_modules)\//.test(p) || /(^|\/)tsconfig.*\.json$/.test(p) || /(\.ts|\.mts|\.cts|\.tgz|\.test\.js)$/.test(p) || p === 'Dockerfile');
  assert.deepEqual(unwanted, [], 'no tests, sources, build or CI files in the tarball');
  // Every source file is compiled: nothing the sources import can be missing from dist/.
  const compiled = filesUnder(join(REPO, 'src')).filter((f) => f.endsWith('.ts')).map((f) => `dist/${f.replace(/\.ts$/, '.js')}`);
  assert.deepEqual(compiled.filter((f) => !shipped.includes(f)), []);
  assert.equal(existsSync(join(REPO, 'dist')), distBefore, 'packing left the checkout as it was');

  // Install the tarball into an empty project, from the npm cache only.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "hostmesh-install-check", "private": true }\n');
  const tarball = join(work, info!.filename);
  let hostmesh: string[];
  try {
    await run(npm()[0]!, [...npm().slice(1), 'install', '--offline', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: app, env: env(), timeout: 120_000 });
    hostmesh = [join(app, 'node_modules/.bin/hostmesh')];
  } catch (e) {
    // The cache could not satisfy an offline install: unpack the tarball and link the project's
    // dependencies, which still proves the shipped files run on their own.
    const why = String((e as { stderr?: string }).stderr ?? '').split('\n').find((l) => l.startsWith('npm error')) ?? String(e);
    t.diagnostic(`npm install --offline failed (${why}): linked the project's node_modules instead`);
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', tarball, '-C', unpacked]);
    mkdirSync(join(app, 'node_modules'));
    renameSync(join(unpacked, 'package'), join(app, 'node_modules/hostmesh'));
    symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules/hostmesh/node_modules'), 'dir');
    hostmesh = [process.execPath, join(app, 'node_modules/hostmesh', pkg.bin.hostmesh!)];
  }
  const installed = join(app, 'node_modules/hostmesh');
  assert.deepEqual(filesUnder(installed).filter((f) => !f.startsWith('node_modules/') && /\.(ts|mts|cts)$/.test(f)), [], 'no TypeScript file installed');

  // Type stripping off: importing any .ts file would fail, so this runs dist/ or nothing.
  const runEnv = env({ NODE_OPTIONS: '--no-experimental-strip-types' });
  const version = await run(hostmesh[0]!, [...hostmesh.slice(1), '--version'], { cwd: app, env: runEnv, timeout: 60_000 });
  assert.equal(version.stdout, `hostmesh ${pkg.version}\n`);

  // A short standalone on the shipped examples; echo.yaml's backend is 127.0.0.1:8080.
  const backend = await exampleBackend(8080);
  t.after(() => new Promise<void>((resolve) => (backend ? backend.close(() => resolve()) : resolve())));
  const proxy = spawnCli(t, ['standalone', '--manifests', join(installed, 'examples/standalone'), '--admin', '127.0.0.1:0', '--port-range', childPortRange(4), '--log-level', 'warn'], { command: hostmesh, cwd: app, env: runEnv });
  const admin = await adminUrl(proxy);
  const routes = bannerRoutes(proxy.stdout);
  assert.deepEqual([...routes.keys()].toSorted(), ['demo/cache:6379', 'demo/echo:80', 'demo/web-v1:80', 'demo/web-v2:80', 'demo/web:80']);
  assert.equal((await fetch(`${admin}/readyz`)).status, 200);
  const echo = await fetch(`http://127.0.0.1:${routes.get('demo/echo:80')}/from-the-package`);
  if (backend) {
    assert.equal(echo.status, 200);
    assert.equal(await echo.text(), 'example backend: GET /from-the-package');
  } else {
    t.diagnostic('127.0.0.1:8080 is taken: the installed proxy answered without the example backend');
    await echo.arrayBuffer();
  }
  assert.deepEqual(await proxy.stop('SIGTERM'), { code: 0, signal: null });
  assert.deepEqual(proxy.stderr.filter((l) => /ERR_|Error/.test(l)), [], 'no errors logged');
});
