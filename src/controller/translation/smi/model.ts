/**
 * SMI objects as translation uses them, whatever version they were written in: each version's
 * shape (parse.ts) is read into one of these. See docs/smi.md for the versions and their fields.
 */

export const SMI_SPLIT_GROUP = 'split.smi-spec.io';
export const SMI_SPECS_GROUP = 'specs.smi-spec.io';
export const SMI_ACCESS_GROUP = 'access.smi-spec.io';

/** The versions read, per group and kind, oldest first. */
export const SMI_VERSIONS: Readonly<Record<SmiKind, { group: string; versions: readonly string[]; plural: string }>> = {
  TrafficSplit: { group: SMI_SPLIT_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'trafficsplits' },
  HTTPRouteGroup: { group: SMI_SPECS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'httproutegroups' },
  TCPRoute: { group: SMI_SPECS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'tcproutes' },
  UDPRoute: { group: SMI_SPECS_GROUP, versions: ['v1alpha4'], plural: 'udproutes' },
  TrafficTarget: { group: SMI_ACCESS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3'], plural: 'traffictargets' },
};

export type SmiKind = 'TrafficSplit' | 'HTTPRouteGroup' | 'TCPRoute' | 'UDPRoute' | 'TrafficTarget';

interface SmiBase {
  /** `group/version` as the object declares it. */
  apiVersion: string;
  namespace: string;
  name: string;
}

export interface TrafficSplit extends SmiBase {
  kind: 'TrafficSplit';
  /** The root Service's name (same namespace). */
  service: string;
  /** Weights are whole numbers (v1alpha1 quantities are scaled to whole numbers, see parse.ts). */
  backends: { service: string; weight: number }[];
  /** v1alpha3+: HTTPRouteGroups (same namespace) whose matches select the requests split. */
  matches: { kind: string; name: string }[];
}

/** One named match of an HTTPRouteGroup. */
export interface SmiHttpMatch {
  name: string;
  /** Anchored at the start of the path (SMI: `^` implied). */
  pathRegex?: string;
  /** Absent or containing `*`: any method. */
  methods?: string[];
  /** Header name -> regular expression its value must match; all must hold. */
  headers?: { name: string; regex: string }[];
}

export interface HttpRouteGroup extends SmiBase {
  kind: 'HTTPRouteGroup';
  matches: SmiHttpMatch[];
}

export interface PortRoute extends SmiBase {
  kind: 'TCPRoute' | 'UDPRoute';
  /** v1alpha4 `spec.matches.ports`; absent or empty: every port. */
  ports?: number[];
}

export interface SmiIdentity {
  namespace: string;
  serviceAccount: string;
}

export interface TrafficTarget extends SmiBase {
  kind: 'TrafficTarget';
  destination: SmiIdentity & { port?: number };
  /** v1alpha1 `specs`, later `rules`: HTTPRouteGroup (optionally some of its matches by name), TCPRoute, UDPRoute. */
  rules: { kind: string; name: string; matches?: string[] }[];
  sources: SmiIdentity[];
}

export type SmiObject = TrafficSplit | HttpRouteGroup | PortRoute | TrafficTarget;
