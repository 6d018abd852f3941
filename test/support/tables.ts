/** Small valid tables for tests, built from plain parameters. */
import { TABLE_FORMAT, portId } from '../../src/table/index.ts';
import type { ClusterEntry, Endpoint, RouteEntry, RoutingTable, TrafficType } from '../../src/table/index.ts';

export function cluster(namespace: string, name: string, port: number, endpoints: Endpoint[], extra: Partial<ClusterEntry> = {}): ClusterEntry {
  return {
    id: portId(namespace, name, port),
    namespace,
    service: name,
    port,
    protocol: 'http',
    scheme: 'http',
    dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' },
    passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
    endpoints,
    ...extra,
  };
}

export function route(namespace: string, name: string, port: number, extra: Partial<RouteEntry> = {}): RouteEntry {
  const id = portId(namespace, name, port);
  return { id, namespace, service: name, port, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }], ...extra };
}

/** One route per cluster, each served on the given listener port. */
export function simpleTable(entries: { cluster: ClusterEntry; listenPort: number; route?: Partial<RouteEntry> }[], version = 1): RoutingTable {
  return {
    format: TABLE_FORMAT,
    epoch: 'test',
    version,
    generatedAt: new Date().toISOString(),
    dns: { zones: ['hostmesh'], ttl: 5, services: [] },
    clusters: entries.map((e) => e.cluster),
    routes: entries.map((e) => route(e.cluster.namespace, e.cluster.service, e.cluster.port, { protocol: e.cluster.protocol, ...e.route })),
    listeners: entries.map((e) => ({ port: e.listenPort, protocol: e.cluster.protocol as TrafficType, route: e.cluster.id })),
  };
}
