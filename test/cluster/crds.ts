/**
 * CustomResourceDefinitions the cluster tier installs, taken from their projects' Go modules
 * through the Go module proxy (`go mod download`, checked against the Go checksum database and
 * against the module sum pinned here): nothing is vendored or downloaded outside the registries.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Cluster } from './cluster.ts';

export interface CrdModule {
  path: string;
  version: string;
  /** The module's `h1:` sum, as go.sum would hold it. */
  sum: string;
  /** Directory of the CRD YAML files inside the module. */
  dir: string;
}

/** Gateway API, standard channel (HTTPRoute and GRPCRoute v1, ReferenceGrant v1beta1 still served). */
export const GATEWAY_API: CrdModule = {
  path: 'sigs.k8s.io/gateway-api',
  version: 'v1.6.3',
  sum: 'h1:lKpJa5bGlraC/QeACvCpsHLdmO6y0iKfzVl6gzaFEYc=',
  dir: 'config/crd/standard',
};

/**
 * The CRD documents of a module (YAML text, one file each), downloaded once into the module
 * cache. `offline`: from the module cache only (the scenarios run in a network namespace of
 * their own; build.ts downloads, and the sum database checks, beforehand).
 */
export function crdDocuments(go: string, m: CrdModule, options: { offline?: boolean } = {}): string[] {
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', ...(options.offline === true ? { GOPROXY: 'off', GOSUMDB: 'off' } : {}) };
  const out = execFileSync(go, ['mod', 'download', '-json', `${m.path}@${m.version}`], { cwd: tmpdir(), encoding: 'utf8', env });
  const info = JSON.parse(out) as { Dir?: string; Sum?: string; Error?: string };
  if (info.Error !== undefined || info.Dir === undefined) throw new Error(`go mod download ${m.path}@${m.version}: ${info.Error ?? 'no directory'}`);
  if (info.Sum !== m.sum) throw new Error(`${m.path}@${m.version} has sum ${info.Sum}, pinned ${m.sum}`);
  const dir = join(info.Dir, m.dir);
  return readdirSync(dir).toSorted()
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .filter((text) => /^kind: CustomResourceDefinition$/m.test(text));
}

/** Applies CRD documents (server-side: they are too large for the last-applied annotation) and waits until each is Established. */
export async function installCrds(cluster: Cluster, documents: readonly string[]): Promise<string[]> {
  const names = documents.map((d) => (parse(d) as { metadata: { name: string } }).metadata.name);
  await cluster.kubectlOk(['apply', '--server-side', '--field-manager=cluster-tier', '-f', '-'], { input: documents.join('\n---\n') });
  await cluster.kubectlOk(['wait', '--for=condition=Established', '--timeout=120s', ...names.map((n) => `crd/${n}`)]);
  return names;
}
