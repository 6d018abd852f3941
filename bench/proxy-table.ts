/** What the bench's proxy processes share: a free loopback port and a table of one-endpoint services. */
import { createServer } from 'node:net';
import { TABLE_FORMAT } from '../src/table/index.ts';
import type { ClusterEntry, RouteEntry, RoutingTable } from '../src/table/index.ts';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** `bench/<name>:80`, one endpoint: the backend on 127.0.0.1. */
export function benchCluster(name: string, backend: number): ClusterEntry {
  return {
    id: `bench/${name}:80`, namespace: 'bench', service: name, port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
    endpoints: [{ address: '127.0.0.1', port: backend }],
  };
}

/** The route `bench/server:80` listening on `port`, with `extra` policies, over the given clusters (default: `server`). */
export function benchTable(backend: number, port: number, extra: Partial<RouteEntry> = {}, clusters: string[] = ['server']): RoutingTable {
  const id = 'bench/server:80';
  return {
    format: TABLE_FORMAT,
    epoch: 'bench',
    version: 1,
    generatedAt: new Date().toISOString(),
    dns: { zones: ['hostmesh'], ttl: 5, services: [] },
    clusters: clusters.map((name) => benchCluster(name, backend)),
    routes: [{ id, namespace: 'bench', service: 'server', port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }], ...extra }],
    listeners: [{ port, protocol: 'http', route: id }],
  };
}
