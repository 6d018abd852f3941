/**
 * Builds the real components of the cluster tier from their Go modules, once per change:
 * kube-apiserver and etcd from test/cluster/go (one module, so the etcd server shares the
 * apiserver's pinned etcd release and most of its compiled packages), CoreDNS from
 * test/cluster/coredns. The binaries are cached outside the repository under a key hashed from
 * the Go version and each module's go.mod, go.sum and Go sources: an unchanged checkout reuses
 * them, a bumped release builds again. Go's own build cache makes a rebuild after a small
 * change incremental.
 *
 * `node test/cluster/build.ts` builds (or finds) them and prints where they are.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface ClusterBinaries {
  kubeApiserver: string;
  etcd: string;
  coredns: string;
}

interface GoModule {
  dir: string;
  /** go build package paths -> output file name */
  outputs: Record<string, keyof ClusterBinaries>;
  fileNames: Record<keyof ClusterBinaries, string>;
}

const MODULES: GoModule[] = [
  {
    dir: join(here, 'go'),
    outputs: { './cmd/kube-apiserver': 'kubeApiserver', './cmd/etcd': 'etcd' },
    fileNames: { kubeApiserver: 'kube-apiserver', etcd: 'etcd', coredns: '' },
  },
  { dir: join(here, 'coredns'), outputs: { '.': 'coredns' }, fileNames: { kubeApiserver: '', etcd: '', coredns: 'coredns' } },
];

/** The oldest Go that builds both modules (CoreDNS v1.15.0's go.mod says `go 1.26.0`). */
const MIN_GO_MINOR = 26;

/** The go command: $GO alone if set, else `go` on PATH, then the usual install place; undefined if none runs. */
export function findGo(): string | undefined {
  const explicit = process.env['GO'];
  for (const candidate of explicit !== undefined && explicit !== '' ? [explicit] : ['go', '/usr/local/go/bin/go']) {
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Why the tier cannot build here (no Go, or one too old to build the modules), or undefined. */
export function goMissing(go: string | undefined): string | undefined {
  if (go === undefined) return `no Go toolchain (${process.env['GO'] ? `$GO=${process.env['GO']} does not run` : 'go not on PATH, no /usr/local/go/bin/go'}): the cluster tier needs Go 1.26 to build kube-apiserver, etcd and CoreDNS`;
  const version = execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).trim();
  const minor = /^go1\.(\d+)/.exec(version)?.[1];
  if (minor === undefined || Number(minor) < MIN_GO_MINOR) return `${go} is ${version}; the cluster tier needs Go 1.${MIN_GO_MINOR} or newer to build kube-apiserver, etcd and CoreDNS`;
  return undefined;
}

function goSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).toSorted()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...goSources(path));
    else if (name.endsWith('.go') || name === 'go.mod' || name === 'go.sum') out.push(path);
  }
  return out;
}

function cacheKey(go: string, module: GoModule): string {
  const hash = createHash('sha256');
  hash.update(execFileSync(go, ['version'], { encoding: 'utf8' }));
  for (const file of goSources(module.dir)) hash.update(`${file.slice(module.dir.length)}\0`).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/** Where one module's binaries are cached for the current sources and Go version. */
function moduleCacheDir(go: string, module: GoModule): string {
  return join(cacheRoot(), `${module.dir.split('/').pop()}-${cacheKey(go, module)}`);
}

export function cacheRoot(): string {
  return process.env['HOSTMESH_CLUSTER_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'hostmesh-cluster');
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * A release built with `go build` reports v0.0.0-master (its release tooling stamps the version),
 * which helm refuses against a chart's kubeVersion; stamp the version go.mod requires.
 */
function versionFlags(dir: string): string[] {
  const release = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v1\.(\d+)\.\d+)\s*$/m.exec(readFileSync(join(dir, 'go.mod'), 'utf8'));
  if (release === null) return [];
  const [, version, minor] = release;
  const stamp = (pkg: string): string[] => [`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=1`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`];
  return [`-ldflags=${[...stamp('k8s.io/component-base/version'), ...stamp('k8s.io/client-go/pkg/version')].join(' ')}`];
}

async function buildModule(go: string, module: GoModule, outDir: string, log: (line: string) => void): Promise<void> {
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const logFile = join(tmp, 'build.log');
  const packages = Object.keys(module.outputs);
  // Low priority: the build is long and the machine is shared; -trimpath keeps the key stable.
  // GOFLAGS is set whole (a user's go env file may set it too): no VCS stamp, so a fresh clone
  // or a dirty tree builds the same binary, and the toolchain found is the one used.
  const argv = ['-n', '15', go, 'build', '-trimpath', ...versionFlags(module.dir), '-o', `${tmp}/`, ...packages];
  const started = Date.now();
  log(`building ${packages.join(' ')} in ${module.dir} (cold: many minutes; log ${logFile})`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const out = createWriteStream(logFile);
    const child = spawn('nice', argv, { cwd: module.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', GOTOOLCHAIN: 'local' } });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', reject);
    child.on('close', (c) => out.end(() => resolve(c)));
  });
  if (code !== 0) throw new Error(`go build in ${module.dir} failed (exit ${code}); last lines of ${logFile}:\n${tail(logFile, 30)}`);
  log(`built ${packages.join(' ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
}

/**
 * The three binaries, built if this checkout's sources have none cached yet. Returns a reason
 * string instead when there is no Go toolchain (the tier then skips, saying so).
 */
export async function clusterBinaries(log: (line: string) => void = (l) => console.error(`cluster build: ${l}`)): Promise<ClusterBinaries | string> {
  const go = findGo();
  const missing = goMissing(go);
  if (missing !== undefined || go === undefined) return missing ?? 'no Go toolchain';
  const result: Partial<ClusterBinaries> = {};
  for (const module of MODULES) {
    const outDir = moduleCacheDir(go, module);
    const wanted = Object.values(module.outputs).map((k) => [k, join(outDir, module.fileNames[k])] as const);
    if (!wanted.every(([, path]) => existsSync(path))) await buildModule(go, module, outDir, log);
    for (const [k, path] of wanted) result[k] = path;
  }
  return result as ClusterBinaries;
}

/** build.ts's exit status when the tier cannot run here at all (run.sh then skips it). */
export const EXIT_SKIP = 3;

if (import.meta.url === `file://${process.argv[1]}`) {
  const bins = await clusterBinaries();
  if (typeof bins === 'string') {
    // One line, and run.sh exits 0 without running the scenarios: skipped, and saying so.
    console.error(`cluster tier SKIPPED: ${bins}`);
    process.exitCode = EXIT_SKIP;
  } else {
    for (const [name, path] of Object.entries(bins)) console.log(`${name}: ${path}`);
    // The CRDs the scenarios install, fetched now while there is a network.
    const { crdDocuments, GATEWAY_API, smiCrdDocuments } = await import('./crds.ts');
    console.log(`gateway-api CRDs: ${crdDocuments(findGo()!, GATEWAY_API).length}`);
    console.log(`smi CRDs: ${smiCrdDocuments(findGo()!).length}`);
  }
}
