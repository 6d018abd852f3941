/**
 * What the controller asks of the Kubernetes API, as data: the chart's RBAC grants exactly
 * this, and `hostmesh check --cluster` asks the apiserver (SubjectAccessReview) whether the
 * controller's ServiceAccount may do each of it. A new read or write in the controller adds a
 * row here and a rule in charts/hostmesh/templates (rbac.yaml, _helpers.tpl).
 */

export interface Permission {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** '' for every namespace (a cluster-wide list or watch). */
  namespace: string;
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
  }
  out.push(...verbs(['list', 'watch', 'create', 'update', 'patch', 'delete'], { group: '', resource: 'services', namespace: o.meshNamespace, why: 'writes the shadow Services' }));
  if (o.leaderElect) out.push(...verbs(['get', 'create', 'update'], { group: 'coordination.k8s.io', resource: 'leases', namespace: o.meshNamespace, why: 'holds the leader Lease' }));
  if (o.patchDns) {
    out.push(...verbs(['list', 'watch', 'create', 'update'], { group: '', resource: 'configmaps', namespace: 'kube-system', why: 'adds the mesh zones to cluster DNS (--patch-dns)' }));
    out.push(...verbs(['list', 'watch', 'patch'], { group: 'apps', resource: 'deployments', namespace: 'kube-system', why: 'restarts CoreDNS when it has no reload plugin (--patch-dns)' }));
  }
  return out;
}

/** `verb resource[.group][/subresource] in NS` (or `in every namespace`), as `kubectl auth can-i` spells it. */
export function describePermission(p: Permission): string {
  const resource = `${p.resource}${p.group === '' ? '' : `.${p.group}`}${p.subresource === undefined ? '' : `/${p.subresource}`}`;
  return `${p.verb} ${resource} ${p.namespace === '' ? 'in every namespace' : `in ${p.namespace}`}`;
}
