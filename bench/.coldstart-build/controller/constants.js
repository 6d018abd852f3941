/** Names hostmesh writes on cluster objects; shared by translation and the shadow Services. */
export const ANNOTATION_PREFIX = 'hostmesh.io/';
/** Caddy Mesh and Traefik Mesh annotation prefixes, accepted as aliases. */
export const CADDY_PREFIX = 'mesh.caddyserver.com/';
export const TRAEFIK_PREFIX = 'mesh.traefik.io/';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'hostmesh';
/** On a shadow Service: the `namespace/name` of the Service it stands for. */
export const SHADOW_OF_ANNOTATION = 'hostmesh.io/shadow-of';
/** On a shadow Service: JSON `{"<port>/<PROTOCOL>": <proxy port>}`; reloaded at start so ports never move. */
export const SHADOW_PORTS_ANNOTATION = 'hostmesh.io/proxy-ports';
