/**
 * hostmesh's proxy with `--workers N|auto` in its own process (bench/workers.ts starts it),
 * fed a one-service table pointing at the backend. argv: backendPort workers [rateLimit]
 * where rateLimit `on` adds a limit no request reaches (every request still takes a token
 * from the shared zone). Reports its port and RSS over IPC; answers `rss` messages.
 */
import { createServer } from 'node:net';
import { createLogger } from '../src/common/log.ts';
import { createProxyHost } from '../src/proxy/workers/host.ts';
import { TABLE_FORMAT } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';

const backend = Number(process.argv[2]);
const workers = process.argv[3] === 'auto' ? 'auto' : Number(process.argv[3]);
const limited = process.argv[4] === 'on';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const port = await freePort();
const id = 'bench/server:80';
const table: RoutingTable = {
  format: TABLE_FORMAT,
  epoch: 'bench',
  version: 1,
  generatedAt: new Date().toISOString(),
  dns: { zones: ['hostmesh'], ttl: 5, services: [] },
  clusters: [{
    id, namespace: 'bench', service: 'server', port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
    endpoints: [{ address: '127.0.0.1', port: backend }],
  }],
  routes: [{
    id, namespace: 'bench', service: 'server', port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }],
    ...(limited ? { rateLimit: { ratePerSecond: 1e9, burst: 1e9, key: '{remote.ip}', zoneSize: 10_000 } } : {}),
  }],
  listeners: [{ port, protocol: 'http', route: id }],
};
const host = await createProxyHost({ workers, log: createLogger('bench', 'warn') });
const result = await host.apply(table);
if (!result.ok) throw new Error(result.error.message);
process.send?.({ port, rss: process.memoryUsage().rss });
process.on('message', (m: string) => {
  if (m === 'rss') process.send?.({ rss: process.memoryUsage().rss });
});
process.on('disconnect', () => {
  void host.close().then(() => process.exit(0));
});
