/**
 * What the mesh DNS answers. Standalone: every name resolves to 127.0.0.1 and SRV records give
 * the listener ports. Cluster: names resolve to the shadow Service ClusterIPs (a Service whose
 * shadow has no address yet is left out) and SRV records give the Service ports, which the
 * shadow Service exposes unchanged.
 */
import { isIP } from 'node:net';
/** One Service's DNS entry; undefined when none of its ports is routed or it has no address. */
export function dnsServiceEntry(svc, listenerPorts, mode, shadowAddresses) {
    const routed = svc.ports.filter((p) => listenerPorts.has(p.id));
    if (routed.length === 0)
        return undefined;
    const addresses = mode === 'standalone'
        ? ['127.0.0.1']
        : [...new Set(shadowAddresses ?? [])].filter((a) => typeof a === 'string' && isIP(a) !== 0).toSorted();
    if (addresses.length === 0)
        return undefined;
    return {
        namespace: svc.namespace,
        name: svc.name,
        addresses,
        ports: routed.map((p) => ({
            name: p.name,
            protocol: p.protocol === 'udp' ? 'udp' : 'tcp',
            port: mode === 'standalone' ? listenerPorts.get(p.id) : p.port,
        })),
    };
}
