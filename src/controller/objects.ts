/**
 * The cluster objects translation reads: the subset of the Kubernetes API it uses, typed
 * structurally so that objects from YAML manifests (plain JSON) and from
 * `@kubernetes/client-node` informers both fit. Everything optional is treated as untrusted.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServicePort {
  name?: string;
  port: number;
  /** A number, or the name of a container port resolved through EndpointSlice ports. */
  targetPort?: number | string;
  protocol?: string; // TCP | UDP | SCTP
  appProtocol?: string;
}

export interface ServiceObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    selector?: Record<string, string>;
    externalName?: string;
    internalTrafficPolicy?: string;
  };
}

export interface EndpointSliceObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  addressType?: string; // IPv4 | IPv6 | FQDN
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    nodeName?: string;
    zone?: string;
    targetRef?: { kind?: string; namespace?: string; name?: string };
  }[];
  ports?: { name?: string | null; port?: number | null; protocol?: string; appProtocol?: string }[];
}

/** Label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** A Pod, for who runs where: its ServiceAccount and addresses (the identity map, ACL mode). */
export interface PodObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    serviceAccountName?: string;
    /** The deprecated alias of serviceAccountName, still written by old manifests. */
    serviceAccount?: string;
    nodeName?: string;
    /** A host-network pod shares its node's address: that address names no one pod. */
    hostNetwork?: boolean;
  };
  status?: {
    podIP?: string;
    podIPs?: { ip?: string }[];
    phase?: string;
  };
}

/** An object of a custom resource kind read as it is (SMI: split, specs, access groups). */
export interface CustomObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Everything translation looks at, as of one moment. */
export interface ClusterState {
  services: ServiceObject[];
  endpointSlices: EndpointSliceObject[];
  /** Pods (ServiceAccounts of endpoints, client identities). Absent: none known. */
  pods?: PodObject[];
  /** SMI objects, any kind and version (translation/smi/). Absent: none. */
  smi?: CustomObject[];
  /** Gateway API routes (absent: none, or their CRDs are not installed). */
  httpRoutes?: GatewayRouteObject[];
  grpcRoutes?: GatewayRouteObject[];
  referenceGrants?: ReferenceGrantObject[];
}

/**
 * What changed between two snapshots of a source (`base` and the one it is given with): the
 * Services replaced, added or removed (by `namespace/name`), each EndpointSlice replaced
 * (before and after; one side absent when added or removed), in the order they changed, and
 * whether any pod changed (and which, in `podChanges`). Anything else changed means no hint at all.
 */
export interface ClusterChange {
  base: ClusterState;
  services: ReadonlySet<string>;
  endpointSlices: readonly { before?: EndpointSliceObject; after?: EndpointSliceObject }[];
  pods: boolean;
  /** Each pod replaced, added or removed, in order, when the source knows them (else `pods` says only whether any changed). */
  podChanges?: readonly PodChange[];
}

/** One pod replaced (before and after), added (no before) or removed (no after). */
export interface PodChange {
  before?: PodObject;
  after?: PodObject;
}

/** A `parentRefs[]` / `backendRefs[]` entry of a Gateway API route (untrusted: checked by translation). */
export interface GatewayRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  /** parentRefs only. */
  sectionName?: string;
  port?: number;
}

/**
 * `gateway.networking.k8s.io/v1` HTTPRoute or GRPCRoute. Only the fields hostmesh reads are
 * typed; the rules stay `unknown` in depth because translation checks every field itself.
 */
export interface GatewayRouteObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta & { creationTimestamp?: string };
  spec?: {
    parentRefs?: GatewayRef[];
    hostnames?: string[];
    rules?: Record<string, unknown>[];
  };
  status?: { parents?: RouteParentStatus[] };
}

/** One entry of a route's `status.parents[]`. */
export interface RouteParentStatus {
  parentRef: GatewayRef;
  controllerName: string;
  conditions?: RouteCondition[];
}

export interface RouteCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** `gateway.networking.k8s.io/v1beta1` ReferenceGrant: lets routes in `from` namespaces name objects in its own. */
export interface ReferenceGrantObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    from?: { group?: string; kind?: string; namespace?: string }[];
    to?: { group?: string; kind?: string; name?: string }[];
  };
}
