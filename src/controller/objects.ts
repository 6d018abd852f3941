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
}
