export function serviceId(namespace, name) {
    return `${namespace}/${name}`;
}
export function portId(namespace, name, port) {
    return `${namespace}/${name}:${port}`;
}
/** Inverse of portId; undefined when `id` is not of that shape. */
export function parsePortId(id) {
    const m = /^([^/\s]+)\/([^/:\s]+):(\d{1,5})$/.exec(id);
    if (!m)
        return undefined;
    return { namespace: m[1], name: m[2], port: Number(m[3]) };
}
/** The Service name of a cluster id `namespace/name:port` (the `backend` metric label). */
export function serviceOfCluster(clusterId) {
    return clusterId.slice(clusterId.indexOf('/') + 1, clusterId.lastIndexOf(':'));
}
