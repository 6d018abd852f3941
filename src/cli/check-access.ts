/**
 * `hostmesh check --cluster`, RBAC: may the controller's ServiceAccount do everything it needs
 * (src/controller/kube/permissions.ts, for the flags its Deployment runs with)? One
 * SubjectAccessReview per need, answered by the apiserver's own authorizer.
 */
import { AuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { controllerPermissions, describePermission } from '../controller/kube/permissions.ts';
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

/** One line: whether `namespace/serviceAccount` may do all of `needs`, naming each refusal. */
export async function checkAccess(kc: KubeConfig, namespace: string, serviceAccount: string, needs: readonly Permission[]): Promise<CheckLine> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const denied: string[] = [];
  for (const p of needs) {
    let allowed: boolean;
    try {
      const review = await kubeCall({ verb: 'create', kind: 'SubjectAccessReview' }, () => api.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user,
            // The groups the apiserver gives every ServiceAccount token.
            groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
            resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, ...(p.subresource === undefined ? {} : { subresource: p.subresource }), ...(p.namespace === '' ? {} : { namespace: p.namespace }) },
          },
        },
      }));
      allowed = review.status?.allowed === true;
    } catch (e) {
      // Asking is itself a permission (create subjectaccessreviews): without it, say so and move on.
      if (failedWith(e, 403)) return { state: 'warn', text: `cannot ask whether ${user} may do what the controller needs (creating a SubjectAccessReview is forbidden to you): ${errorMessage(e)}` };
      return { state: 'fail', text: `cannot check the controller's RBAC: ${errorMessage(e)}` };
    }
    if (!allowed) denied.push(`${describePermission(p)} (${p.why})`);
  }
  if (denied.length > 0) return { state: 'fail', text: `controller ServiceAccount ${namespace}/${serviceAccount} may not: ${denied.join('; ')}` };
  return { state: 'ok', text: `controller ServiceAccount ${namespace}/${serviceAccount} may do all ${needs.length} things it needs (SubjectAccessReview)` };
}

/** The RBAC line for the controller a Deployment runs. */
export function checkControllerAccess(kc: KubeConfig, deployment: V1Deployment, releaseNamespace: string): Promise<CheckLine> {
  const account = deployment.spec?.template.spec?.serviceAccountName ?? 'default';
  return checkAccess(kc, releaseNamespace, account, controllerPermissions(accessOptions(deployment, releaseNamespace)));
}
