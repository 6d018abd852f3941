/**
 * What the controller asks of the Kubernetes API, as data: the chart's RBAC grants exactly
 * this, and `hostmesh check --cluster` asks the apiserver (SubjectAccessReview) whether the
 * controller's ServiceAccount may do each of it. A new read or write in the controller adds a
 * row here and a rule in charts/hostmesh/templates (rbac.yaml, _helpers.tpl).
 */
import { SMI_VERSIONS } from '../translation/smi/model.ts';

export interface Permission {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** '' for every namespace (a cluster-wide list or watch), or for a cluster-scoped resource. */
  namespace: string;
  /** A cluster-scoped resource (ClusterRole, ...): described as `cluster-wide`. */
  clusterScoped?: boolean;
  /** What the controller does with it, for the check's message. */
  why: string;
}

/** How a controller was started, as far as its permissions go (its command-line flags). */
export interface ControllerAccessOptions {
  /** Its own namespace (shadow Services, the leader Lease). */
  meshNamespace: string;
  /** --watch-namespaces; empty or undefined: every namespace. */
  watchNamespaces?: readonly string[];
  /** --patch-dns: CoreDNS (or kube-dns) configuration in kube-system. */
  patchDns: boolean;
  /** --leader-elect: the Lease in the mesh namespace. */
  leaderElect: boolean;
}

const verbs = (list: readonly string[], rest: Omit<Permission, 'verb'>): Permission[] => list.map((verb) => ({ verb, ...rest }));

/** Every (verb, resource, namespace) the controller needs with these options. */
export function controllerPermissions(o: ControllerAccessOptions): Permission[] {
  const watched = o.watchNamespaces !== undefined && o.watchNamespaces.length > 0 ? o.watchNamespaces : [''];
  const out: Permission[] = [];
  for (const namespace of watched) {
    out.push(...verbs(['list', 'watch'], { group: '', resource: 'services', namespace, why: 'reads the Services it meshes' }));
    out.push(...verbs(['list', 'watch'], { group: 'discovery.k8s.io', resource: 'endpointslices', namespace, why: 'reads their endpoints' }));
    out.push(...verbs(['create', 'patch'], { group: '', resource: 'events', namespace, why: 'reports bad annotations as Events' }));
    out.push(...verbs(['list', 'watch'], { group: '', resource: 'pods', namespace, why: 'maps pod addresses to namespaces and ServiceAccounts' }));
    for (const resource of ['httproutes', 'grpcroutes', 'referencegrants']) {
      out.push(...verbs(['list', 'watch'], { group: 'gateway.networking.k8s.io', resource, namespace, why: 'reads Gateway API routes on Services' }));
    }
    for (const resource of ['httproutes', 'grpcroutes']) {
      out.push(...verbs(['update', 'patch'], { group: 'gateway.networking.k8s.io', resource, subresource: 'status', namespace, why: 'writes route status' }));
    }
    for (const { group, plural } of Object.values(SMI_VERSIONS)) {
      out.push(...verbs(['list', 'watch'], { group, resource: plural, namespace, why: 'reads SMI splits, routes and access rules' }));
    }
  }
  out.push(...verbs(['list', 'watch', 'create', 'update', 'patch', 'delete'], { group: '', resource: 'services', namespace: o.meshNamespace, why: 'writes the shadow Services' }));
  if (o.leaderElect) out.push(...verbs(['get', 'create', 'update'], { group: 'coordination.k8s.io', resource: 'leases', namespace: o.meshNamespace, why: 'holds the leader Lease' }));
  if (o.patchDns) {
    out.push(...verbs(['list', 'watch', 'create', 'update'], { group: '', resource: 'configmaps', namespace: 'kube-system', why: 'adds the mesh zones to cluster DNS (--patch-dns)' }));
    out.push(...verbs(['list', 'watch', 'patch'], { group: 'apps', resource: 'deployments', namespace: 'kube-system', why: 'restarts CoreDNS when it has no reload plugin (--patch-dns)' }));
  }
  return out;
}

/**
 * What `helm install` of the chart with its defaults creates, as the installing user: the
 * release's objects in `namespace`, the cluster-wide RBAC, the cluster-DNS Roles in kube-system,
 * and helm's own release Secrets. (The token Secret is written by the chart's hook Job, with its
 * own ServiceAccount.)
 */
export function installPermissions(namespace: string): Permission[] {
  const inRelease = (group: string, resource: string, why: string): Permission => ({ verb: 'create', group, resource, namespace, why });
  return [
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: '', clusterScoped: true, why: 'the controller\'s ClusterRole' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespace: '', clusterScoped: true, why: 'the controller\'s ClusterRoleBinding' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'kube-system', why: 'the cluster-DNS Role (dns.patch)' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'kube-system', why: 'the cluster-DNS RoleBinding (dns.patch)' },
    inRelease('rbac.authorization.k8s.io', 'roles', 'the release\'s Roles'),
    inRelease('rbac.authorization.k8s.io', 'rolebindings', 'the release\'s RoleBindings'),
    inRelease('', 'serviceaccounts', 'the ServiceAccounts'),
    inRelease('', 'services', 'the controller and DNS Services'),
    inRelease('apps', 'deployments', 'the controller'),
    inRelease('apps', 'daemonsets', 'the proxies'),
    inRelease('batch', 'jobs', 'the token and cleanup hook Jobs'),
    inRelease('policy', 'poddisruptionbudgets', 'the controller\'s PodDisruptionBudget'),
    inRelease('', 'resourcequotas', 'the ResourceQuota admitting system-node-critical'),
    inRelease('', 'secrets', 'helm\'s release record'),
    { verb: 'list', group: '', resource: 'secrets', namespace, why: 'helm\'s release record' },
  ];
}

/** `verb resource[.group][/subresource] in NS` (or `in every namespace`, `cluster-wide`), as `kubectl auth can-i` spells it. */
export function describePermission(p: Permission): string {
  const resource = `${p.resource}${p.group === '' ? '' : `.${p.group}`}${p.subresource === undefined ? '' : `/${p.subresource}`}`;
  return `${p.verb} ${resource} ${p.clusterScoped === true ? 'cluster-wide' : p.namespace === '' ? 'in every namespace' : `in ${p.namespace}`}`;
}
