/**
 * CustomResourceDefinitions the cluster tier installs, taken from their projects' Go modules
 * through the Go module proxy (`go mod download`, checked against the Go checksum database and
 * against the module sum pinned here): nothing is vendored or downloaded outside the registries.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
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
 * The Service Mesh Interface CRDs (TrafficSplit, HTTPRouteGroup, TCPRoute, UDPRoute,
 * TrafficTarget) of the SMI SDK's Go module, the SMI project's own CRDs. v0.5.0 is the one
 * release the Go module proxy serves; its files are `apiextensions.k8s.io/v1beta1`, which
 * apiservers stopped serving in 1.22, so `smiCrdDocuments` converts them (see there).
 */
export const SMI: CrdModule = {
  path: 'github.com/servicemeshinterface/smi-sdk-go',
  version: 'v0.5.0',
  sum: 'h1:9cZdhvGbGDlmnp9qqmcQL+RL6KZ3IzHfDLoA5Axg8n0=',
  dir: 'crds',
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

type Schema = Record<string, unknown>;

/**
 * A v1beta1 schema made structural for v1 without changing what it accepts: a node with
 * `properties` is an object, one with `items` an array, and every object keeps the fields its
 * schema does not name, as v1beta1's default `preserveUnknownFields: true` did (v1 would prune
 * them: an SMI field the schema leaves out, such as a TrafficTarget destination's `port`, would
 * silently disappear).
 */
function structural(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (schema['properties'] !== undefined) {
    out['type'] ??= 'object';
    out['x-kubernetes-preserve-unknown-fields'] = true;
    out['properties'] = Object.fromEntries(Object.entries(schema['properties'] as Record<string, Schema>).map(([k, v]) => [k, structural(v)]));
  }
  if (schema['items'] !== undefined) {
    out['type'] ??= 'array';
    out['items'] = structural(schema['items'] as Schema);
  }
  return out;
}

interface V1beta1Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: object;
    versions: { name: string; served: boolean; storage: boolean }[];
    validation?: { openAPIV3Schema: Schema };
    additionalPrinterColumns?: { name: string; type: string; description?: string; JSONPath: string }[];
  };
}

/**
 * One v1beta1 CRD as `apiextensions.k8s.io/v1`. The storage version gets the file's schema
 * (made structural, `structural`) and printer columns. Older versions, which the file lists as
 * not served, are served here: objects written for Traefik Mesh are in them (access v1alpha2,
 * specs and split v1alpha3), and a cluster running Traefik Mesh serves them. The file has no
 * schema of their own for them (v1beta1's one schema is the newest shape: SMI v1alpha1 kept
 * `matches` outside `spec`, its TrafficSplit weights are quantities, v1alpha3's TCPRoute has no
 * `matches`), so they take any object. Conversion is `None`, as in the file: objects are stored
 * as written, only their apiVersion changes when read in another version.
 */
function crdV1(crd: V1beta1Crd): object {
  const schema = structural({ ...crd.spec.validation?.openAPIV3Schema, type: 'object' });
  const columns = (crd.spec.additionalPrinterColumns ?? []).map(({ JSONPath, ...c }) => ({ ...c, jsonPath: JSONPath }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crd.metadata.name },
    spec: {
      group: crd.spec.group,
      scope: crd.spec.scope,
      names: crd.spec.names,
      versions: crd.spec.versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        schema: { openAPIV3Schema: v.storage ? schema : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        ...(v.storage && columns.length > 0 ? { additionalPrinterColumns: columns } : {}),
      })),
    },
  };
}

/** The SMI CRDs as `apiextensions.k8s.io/v1` documents (`crdV1`), one per CRD. */
export function smiCrdDocuments(go: string, options: { offline?: boolean } = {}): string[] {
  return crdDocuments(go, SMI, options)
    .flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as V1beta1Crd | null))
    .filter((d): d is V1beta1Crd => d !== null && (d as { kind?: string }).kind === 'CustomResourceDefinition')
    .map((d) => stringify(crdV1(d)));
}
