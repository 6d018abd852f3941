import { dialCluster } from '../l4/tcp-dial.js';
import { relay } from '../l4/tcp-relay.js';
/** Weighted choice among the route's default backends (rules match HTTP requests, not TLS). */
function chooseBackend(route) {
    let total = 0;
    for (const b of route.backends)
        total += b.weight;
    if (total <= 0)
        return undefined;
    let x = Math.random() * total;
    for (const b of route.backends) {
        x -= b.weight;
        if (x < 0 && b.weight > 0)
            return b;
    }
    return route.backends.find((b) => b.weight > 0);
}
export function passThroughTls(client, route, log) {
    const backend = chooseBackend(route);
    if (backend === undefined) {
        client.destroy();
        return;
    }
    const cluster = backend.cluster;
    const observer = {
        connectionOpened: () => { },
        connectionClosed: () => { },
        connectionFailed: () => { },
        connectError: (_route, _cluster, reason) => {
            if (reason !== 'no-endpoint')
                backend.stats.connectErrors++;
        },
    };
    const abandon = dialCluster(route.id, cluster, observer, (upstream, endpoint) => {
        client.removeListener('close', abandon);
        if (upstream === undefined || endpoint === undefined) {
            client.destroy();
            return;
        }
        if (client.destroyed) {
            upstream.destroy();
            cluster.picker.release(endpoint);
            return;
        }
        relay(client, upstream, { readTimeoutMs: undefined, writeTimeoutMs: cluster.writeTimeoutMs }, log, () => cluster.picker.release(endpoint));
        client.resume();
    });
    client.once('close', abandon);
}
