/**
 * The cluster objects translation reads: the subset of the Kubernetes API it uses, typed
 * structurally so that objects from YAML manifests (plain JSON) and from
 * `@kubernetes/client-node` informers both fit. Everything optional is treated as untrusted.
 */
/** Label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
