// Writes the `replace k8s.io/<staging> => k8s.io/<staging> v0.X.Y` lines that
// building kube-apiserver from k8s.io/kubernetes needs. Its go.mod requires each
// staging module at v0.0.0 (they live in its own tree); outside that tree each
// one is published at v0.<minor>.<patch> of the release. The list is read from
// the release's own go.mod, so bumping the release is: edit the require line,
// run `node test/cluster/gen-replaces.ts`, then `go mod tidy` (it does both).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const moduleDir = join(dirname(fileURLToPath(import.meta.url)), 'go');
const go = process.env['GO'] ?? 'go';

interface GoModJson {
  Require?: { Path: string; Version: string }[];
  Replace?: { Old: { Path: string } }[];
}

function goJson<T>(args: string[]): T {
  return JSON.parse(execFileSync(go, args, { cwd: moduleDir, encoding: 'utf8' })) as T;
}

const ours = goJson<GoModJson>(['mod', 'edit', '-json']);
const release = ours.Require?.find((r) => r.Path === 'k8s.io/kubernetes')?.Version;
if (release === undefined) throw new Error(`${moduleDir}/go.mod does not require k8s.io/kubernetes`);
const match = /^v1\.(\d+)\.(\d+)$/.exec(release);
if (match === null) throw new Error(`k8s.io/kubernetes version ${release} is not a v1.X.Y release`);
const stagingVersion = `v0.${match[1]}.${match[2]}`;

const downloaded = goJson<{ GoMod: string }>(['mod', 'download', '-json', `k8s.io/kubernetes@${release}`]);
const theirs = goJson<GoModJson>(['mod', 'edit', '-json', downloaded.GoMod]);
const staging = (theirs.Require ?? []).filter((r) => r.Path.startsWith('k8s.io/') && r.Version === 'v0.0.0');
if (staging.length === 0) throw new Error(`k8s.io/kubernetes@${release} go.mod requires no staging module at v0.0.0`);

const edits = [
  // Drop every k8s.io replace first so a module the release no longer has goes away.
  ...(ours.Replace ?? []).filter((r) => r.Old.Path.startsWith('k8s.io/')).map((r) => `-dropreplace=${r.Old.Path}`),
  ...staging.map((r) => `-replace=${r.Path}=${r.Path}@${stagingVersion}`),
];
execFileSync(go, ['mod', 'edit', ...edits], { cwd: moduleDir, stdio: 'inherit' });
if (!process.argv.includes('--no-tidy')) execFileSync(go, ['mod', 'tidy'], { cwd: moduleDir, stdio: 'inherit' });
const written = readFileSync(join(moduleDir, 'go.mod'), 'utf8').split('\n').filter((l) => l.includes('=>')).length;
console.log(`k8s.io/kubernetes ${release}: ${staging.length} staging modules replaced at ${stagingVersion} (${written} replace lines)`);
