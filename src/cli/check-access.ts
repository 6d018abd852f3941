/**
 * `hostmesh check --cluster`, RBAC: may the controller's ServiceAccount do everything it needs
 * (src/controller/kube/permissions.ts, for the flags its Deployment runs with)? One
 * SubjectAccessReview per need, answered by the apiserver's own authorizer.
 */
import { AuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { controllerPermissions, describePermission, installPermissions } from '../controller/kube/permissions.ts';
import type { ControllerAccessOptions, Permission } from '../controller/kube/permissions.ts';
import { failedWith, kubeCall } from '../controller/kube/errors.ts';
import type { CheckLine } from './check-cluster.ts';

/** `--name=value` or `--name value` from a container's args; `true` for a bare boolean flag. */
export function flagValue(args: readonly string[], name: string): string | true | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) {
      const next = args[i + 1];
      return next !== undefined && !next.startsWith('--') ? next : true;
    }
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The access options of the controller a Deployment runs (its first container's args). */
export function accessOptions(deployment: V1Deployment, releaseNamespace: string): ControllerAccessOptions {
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  const watch = flagValue(args, 'watch-namespaces');
  const dns = flagValue(args, 'patch-dns');
  const leader = flagValue(args, 'leader-elect');
  return {
    meshNamespace: releaseNamespace,
    watchNamespaces: typeof watch === 'string' ? watch.split(',').map((s) => s.trim()).filter((s) => s !== '') : [],
    patchDns: dns === true || dns === 'true',
    leaderElect: leader === true || leader === 'true',
  };
}

type ResourceAttributes = { verb: string; group: string; resource: string; subresource?: string; namespace?: string };

function attributes(p: Permission): ResourceAttributes {
  return { verb: p.verb, group: p.group, resource: p.resource, ...(p.subresource === undefined ? {} : { subresource: p.subresource }), ...(p.namespace === '' ? {} : { namespace: p.namespace }) };
}

/**
 * Asks about each need in turn; the refusals (described, with why), or a line when asking
 * itself failed (a 403 on the review: a warning, the check could not be made).
 */
async function refusals(needs: readonly Permission[], who: string, ask: (a: ResourceAttributes) => Promise<boolean>): Promise<string[] | CheckLine> {
  const denied: string[] = [];
  for (const p of needs) {
    try {
      if (!await ask(attributes(p))) denied.push(`${describePermission(p)} (${p.why})`);
    } catch (e) {
      if (failedWith(e, 403)) return { state: 'warn', text: `cannot ask what ${who} may do (you may not create access reviews): ${errorMessage(e)}` };
      return { state: 'fail', text: `cannot check what ${who} may do: ${errorMessage(e)}` };
    }
  }
  return denied;
}

/** One line: whether `namespace/serviceAccount` may do all of `needs` (SubjectAccessReview), naming each refusal. */
export async function checkAccess(kc: KubeConfig, namespace: string, serviceAccount: string, needs: readonly Permission[]): Promise<CheckLine> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const denied = await refusals(needs, user, async (resourceAttributes) => {
    const review = await kubeCall({ verb: 'create', kind: 'SubjectAccessReview' }, () => api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        // The groups the apiserver gives every ServiceAccount token.
        spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'], resourceAttributes },
      },
    }));
    return review.status?.allowed === true;
  });
  if (!Array.isArray(denied)) return denied;
  if (denied.length > 0) return { state: 'fail', text: `controller ServiceAccount ${namespace}/${serviceAccount} may not: ${denied.join('; ')}` };
  return { state: 'ok', text: `controller ServiceAccount ${namespace}/${serviceAccount} may do all ${needs.length} things it needs (SubjectAccessReview)` };
}

/** One line (--pre): whether you, the kubeconfig's user, may create what `helm install` creates (SelfSubjectAccessReview). */
export async function checkInstallAccess(kc: KubeConfig, namespace: string): Promise<CheckLine> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const needs = installPermissions(namespace);
  const denied = await refusals(needs, 'you', async (resourceAttributes) => {
    const review = await kubeCall({ verb: 'create', kind: 'SelfSubjectAccessReview' }, () => api.createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } },
    }));
    return review.status?.allowed === true;
  });
  if (!Array.isArray(denied)) return denied;
  if (denied.length > 0) return { state: 'fail', text: `you may not install the chart; you may not: ${denied.join('; ')}` };
  return { state: 'ok', text: `you may do all ${needs.length} things helm install of the chart needs (SelfSubjectAccessReview)` };
}

/** The RBAC line for the controller a Deployment runs. */
export function checkControllerAccess(kc: KubeConfig, deployment: V1Deployment, releaseNamespace: string): Promise<CheckLine> {
  const account = deployment.spec?.template.spec?.serviceAccountName ?? 'default';
  return checkAccess(kc, releaseNamespace, account, controllerPermissions(accessOptions(deployment, releaseNamespace)));
}
