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
import { GATEWAY_KINDS, SMI_KINDS } from '../controller/source/kubernetes.ts';
import { flagValue } from './check-access.ts';
import type { CheckLine } from './check-cluster.ts';

export interface CrdUse {
  group: string;
  /** The versions read, most preferred first: served in any of them is enough. */
  versions: readonly string[];
  plural: string;
  kind: string;
  /** What hostmesh does with it (a noun phrase: "routing by HTTPRoutes"). */
  feature: string;
  /** True when the release as configured cannot work without it. */
  required: boolean;
  /** Why it is required (a clause: "ACL mode denies every request without it"). */
  because?: string;
}

const SMI_FEATURES: Record<string, string> = {
  TrafficSplit: 'SMI traffic splits',
  HTTPRouteGroup: 'SMI HTTP matches of splits and TrafficTargets',
  TCPRoute: 'SMI TCP rules of TrafficTargets',
  UDPRoute: 'SMI UDP rules of TrafficTargets',
  TrafficTarget: 'SMI access rules (ACL mode)',
};

/**
 * The custom resources hostmesh reads, for a release whose controller runs with `args` (its
 * Deployment's container args; undefined before installing): the controller's optional kinds
 * (Gateway API routes on Services, SMI objects). None is required, except TrafficTarget in ACL
 * mode (`--acl`): without its CRD no request would ever be allowed.
 */
export function crdsRead(args: readonly string[] | undefined): CrdUse[] {
  const acl = args !== undefined && flagValue(args, 'acl') !== undefined && flagValue(args, 'acl') !== 'false';
  return [
    ...GATEWAY_KINDS.map((k) => ({
      group: k.group, versions: k.versions, plural: k.plural, kind: k.kind,
      feature: k.kind === 'ReferenceGrant' ? 'Gateway API backends in other namespaces' : `Gateway API ${k.kind}s on Services`,
      required: false,
    })),
    ...SMI_KINDS.map((k) => {
      const needed = acl && k.kind === 'TrafficTarget';
      return {
        group: k.group, versions: k.versions, plural: k.plural, kind: k.kind, feature: SMI_FEATURES[k.kind] ?? `SMI ${k.kind}s`,
        required: needed,
        ...(needed ? { because: 'the controller runs with --acl, and without TrafficTargets ACL mode denies every request' } : {}),
      };
    }),
  ];
}

/** `kind (group/version)`, or `kind (group, any of v2, v1)` for a kind read in several versions. */
function named(c: CrdUse, served?: string): string {
  if (served !== undefined || c.versions.length === 1) return `${c.kind} (${c.group}/${served ?? c.versions[0]!})`;
  return `${c.kind} (${c.group}, any of ${c.versions.join(', ')})`;
}

/** One line per custom resource: served, missing and needed (fail), or missing and optional (note). */
export async function checkCrds(kc: KubeConfig, uses: readonly CrdUse[]): Promise<CheckLine[]> {
  if (uses.length === 0) return [{ state: 'ok', text: 'no CustomResourceDefinitions needed (hostmesh reads no custom resources yet)' }];
  const api = kc.makeApiClient(CustomObjectsApi);
  // group/version -> the plurals it serves (undefined: not served); asked once each.
  const served = new Map<string, Set<string> | undefined>();
  const lines: CheckLine[] = [];
  for (const c of uses) {
    let found: string | undefined;
    let failed = false;
    for (const version of c.versions) {
      const gv = `${c.group}/${version}`;
      if (!served.has(gv)) {
        try {
          const list = await kubeCall({ verb: 'get', kind: 'APIResourceList', name: gv }, () => api.getAPIResources({ group: c.group, version }));
          served.set(gv, new Set(list.resources.map((r) => r.name)));
        } catch (e) {
          if (!failedWith(e, 404)) {
            lines.push({ state: 'fail', text: `cannot ask the API whether it serves ${gv}: ${errorMessage(e)}` });
            failed = true;
            break;
          }
          served.set(gv, undefined);
        }
      }
      if (served.get(gv)?.has(c.plural) === true) {
        found = version;
        break;
      }
    }
    if (failed) continue;
    if (found !== undefined) {
      const which = c.versions.length > 1 ? `, read as ${found}` : '';
      lines.push({ state: 'ok', text: `${named(c, found)} is installed (for ${c.feature}${which})` });
    } else if (c.required) {
      lines.push({ state: 'fail', text: `${named(c)} is not installed, but the release needs it for ${c.feature}${c.because === undefined ? '' : `: ${c.because}`}` });
    } else {
      lines.push({ state: 'note', text: `${named(c)} is not installed (optional: only ${c.feature} needs it)` });
    }
  }
  return lines;
}
