/**
 * RBAC objects and SubjectAccessReview for the fake API server. The fake enforces no RBAC on
 * its own requests (one admin token), but stores Roles, ClusterRoles and their bindings and
 * answers a SubjectAccessReview the way the RBAC authorizer does: a request is allowed when a
 * ClusterRoleBinding, or a RoleBinding in the request's namespace, binds a role with a rule
 * matching its verb, API group, resource (`resource/subresource`) and name to the user, one of
 * its groups, or (for `system:serviceaccount:NS:NAME`) that ServiceAccount. `*` matches
 * anything. The real apiserver answers the same SubjectAccessReviews in test/cluster/.
 */
import { ApiError } from './fake-apiserver-store.ts';
import type { FieldCause, KubeObject, ResourceDef, Store } from './fake-apiserver-store.ts';

const RBAC = 'rbac.authorization.k8s.io';

/** Who a bearer token is. */
export interface Identity { user: string; groups?: string[] }

/** Whoever the fake does not know: an admin (system:masters is allowed everything, as on a real server). */
export const ADMIN: Identity = { user: 'admin', groups: ['system:masters', 'system:authenticated'] };

interface Rule { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] }
interface Subject { kind?: string; name?: string; namespace?: string }
interface Binding { roleRef?: { kind?: string; name?: string }; subjects?: Subject[] }

interface ResourceAttributes { namespace?: string; verb?: string; group?: string; resource?: string; subresource?: string; name?: string }
interface ReviewSpec { user?: string; groups?: string[]; resourceAttributes?: ResourceAttributes; nonResourceAttributes?: unknown }

function roleRefRequired(obj: KubeObject): FieldCause[] {
  const ref = (obj as unknown as Binding).roleRef;
  return ref?.name === undefined || ref.name === '' ? [{ field: 'roleRef.name', reason: 'FieldValueRequired', message: 'Required value' }] : [];
}

export function accessResources(): ResourceDef[] {
  return [
    { group: RBAC, version: 'v1', plural: 'roles', kind: 'Role', namespaced: true },
    { group: RBAC, version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { group: RBAC, version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true, validate: roleRefRequired },
    { group: RBAC, version: 'v1', plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false, validate: roleRefRequired },
    // Create-only and never stored: the fake answers them in reviewAccess.
    { group: 'authorization.k8s.io', version: 'v1', plural: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false },
    { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false },
  ];
}

const matches = (list: readonly string[] | undefined, value: string): boolean => list !== undefined && (list.includes('*') || list.includes(value));

function subjectIs(s: Subject, user: string, groups: readonly string[]): boolean {
  if (s.kind === 'User') return s.name === user;
  if (s.kind === 'Group') return s.name !== undefined && groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return user === `system:serviceaccount:${s.namespace}:${s.name}`;
  return false;
}

function ruleAllows(rule: Rule, a: Required<Pick<ResourceAttributes, 'verb' | 'group' | 'resource'>> & ResourceAttributes): boolean {
  const resource = a.subresource === undefined || a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  if (!matches(rule.verbs, a.verb) || !matches(rule.apiGroups, a.group) || !matches(rule.resources, resource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

function rulesOf(store: Store, ref: Binding['roleRef'], namespace: string | undefined): Rule[] {
  const kind = ref?.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
  // A ClusterRoleBinding (namespace undefined here) binds only ClusterRoles.
  if (kind === 'roles' && namespace === undefined) return [];
  try {
    return ((store.get(store.resolve(`${kind}.${RBAC}`), kind === 'roles' ? namespace : undefined, ref?.name ?? '') as unknown as { rules?: Rule[] }).rules ?? []);
  } catch {
    return []; // a binding to a role that does not exist grants nothing
  }
}

/**
 * The answer to a SubjectAccessReview, or (with `self`, the requester) a SelfSubjectAccessReview:
 * the review with `status.allowed` (and a reason) filled in.
 */
export function reviewAccess(store: Store, body: unknown, self?: Identity): object {
  const review = body as { kind?: string; spec?: ReviewSpec };
  const spec = review.spec ?? {};
  const causes: FieldCause[] = [];
  if (self === undefined && (spec.user ?? '') === '' && (spec.groups ?? []).length === 0) causes.push({ field: 'spec.user', reason: 'FieldValueRequired', message: 'at least one of user or group must be specified' });
  if (spec.resourceAttributes === undefined && spec.nonResourceAttributes === undefined) causes.push({ field: 'spec.resourceAttributes', reason: 'FieldValueRequired', message: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' });
  const kind = self === undefined ? 'SubjectAccessReview' : 'SelfSubjectAccessReview';
  if (causes.length > 0) throw new ApiError(422, 'Invalid', `${kind}.authorization.k8s.io is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { kind, group: 'authorization.k8s.io', causes });
  const user = self?.user ?? spec.user ?? '';
  const groups = self?.groups ?? spec.groups ?? [];
  const a = spec.resourceAttributes;
  let allowed = false;
  let reason = '';
  if (groups.includes('system:masters')) {
    allowed = true;
    reason = 'system:masters';
  } else if (a !== undefined) {
    const attrs = { ...a, verb: a.verb ?? '', group: a.group ?? '', resource: a.resource ?? '' };
    const namespace = a.namespace === undefined || a.namespace === '' ? undefined : a.namespace;
    const candidates: { binding: Binding; namespace: string | undefined; what: string }[] = [
      ...store.list(store.resolve(`clusterrolebindings.${RBAC}`), undefined, {}).items.map((b) => ({ binding: b as unknown as Binding, namespace: undefined, what: `ClusterRoleBinding "${b.metadata.name}"` })),
      ...(namespace === undefined ? [] : store.list(store.resolve(`rolebindings.${RBAC}`), namespace, {}).items.map((b) => ({ binding: b as unknown as Binding, namespace, what: `RoleBinding "${b.metadata.name}/${namespace}"` }))),
    ];
    for (const c of candidates) {
      if (!(c.binding.subjects ?? []).some((s) => subjectIs(s, user, groups))) continue;
      // A ClusterRoleBinding's ClusterRole applies everywhere; a RoleBinding's role only in its namespace.
      if (rulesOf(store, c.binding.roleRef, c.namespace).some((r) => ruleAllows(r, attrs))) {
        allowed = true;
        reason = `RBAC: allowed by ${c.what} of ${c.binding.roleRef?.kind} "${c.binding.roleRef?.name}"`;
        break;
      }
    }
  }
  return { apiVersion: 'authorization.k8s.io/v1', kind, metadata: {}, spec, status: { allowed, ...(reason === '' ? {} : { reason }) } };
}
