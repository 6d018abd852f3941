/**
 * `hostmesh check --pre` and `--cluster`, CRDs: which of the custom resources hostmesh can read
 * the cluster serves (asked through discovery, which every authenticated user may read). Those
 * a feature needs are failures when missing; optional ones are notes (their feature is simply
 * off until the CRD is installed).
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { failedWith, kubeCall } from '../controller/kube/errors.ts';
import { OPTIONAL_KINDS } from '../controller/source/kubernetes.ts';
import type { CheckLine } from './check-cluster.ts';

export interface CrdUse {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** What hostmesh does with it (a noun phrase: "routing by HTTPRoutes"). */
  feature: string;
  /** True when the release as configured cannot work without it. */
  required: boolean;
}

/**
 * The custom resources hostmesh reads, for a release whose controller runs with `args` (its
 * Deployment's container args; undefined before installing): the controller's optional kinds
 * (Gateway API routes on Services). None is required: without its CRD a kind is simply not read.
 */
export function crdsRead(_args: readonly string[] | undefined): CrdUse[] {
  return OPTIONAL_KINDS.map((k) => ({
    group: k.group, version: k.version, plural: k.plural, kind: k.kind,
    feature: k.kind === 'ReferenceGrant' ? 'Gateway API backends in other namespaces' : `Gateway API ${k.kind}s on Services`,
    required: false,
  }));
}

/** `kind (group/version)`. */
function named(c: CrdUse): string {
  return `${c.kind} (${c.group}/${c.version})`;
}

/** One line per custom resource: served, missing and needed (fail), or missing and optional (note). */
export async function checkCrds(kc: KubeConfig, uses: readonly CrdUse[]): Promise<CheckLine[]> {
  if (uses.length === 0) return [{ state: 'ok', text: 'no CustomResourceDefinitions needed (hostmesh reads no custom resources yet)' }];
  const api = kc.makeApiClient(CustomObjectsApi);
  const served = new Map<string, Set<string> | undefined>();
  const lines: CheckLine[] = [];
  for (const c of uses) {
    const gv = `${c.group}/${c.version}`;
    if (!served.has(gv)) {
      try {
        const list = await kubeCall({ verb: 'get', kind: 'APIResourceList', name: gv }, () => api.getAPIResources({ group: c.group, version: c.version }));
        served.set(gv, new Set(list.resources.map((r) => r.name)));
      } catch (e) {
        if (!failedWith(e, 404)) {
          lines.push({ state: 'fail', text: `cannot ask the API whether it serves ${gv}: ${errorMessage(e)}` });
          continue;
        }
        served.set(gv, undefined);
      }
    }
    const present = served.get(gv)?.has(c.plural) === true;
    if (present) lines.push({ state: 'ok', text: `${named(c)} is installed (for ${c.feature})` });
    else if (c.required) lines.push({ state: 'fail', text: `${named(c)} is not installed, but the release needs it for ${c.feature}` });
    else lines.push({ state: 'note', text: `${named(c)} is not installed (optional: only ${c.feature} needs it)` });
  }
  return lines;
}
