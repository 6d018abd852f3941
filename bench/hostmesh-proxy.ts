/** hostmesh's proxy engine in its own process, fed a one-service table pointing at the backend. */
import { createServer } from 'node:net';
import { createLogger } from '../src/common/log.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { TABLE_FORMAT } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';

const backend = Number(process.argv[2]);

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
  routes: [{ id, namespace: 'bench', service: 'server', port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }] }],
  listeners: [{ port, protocol: 'http', route: id }],
};
const engine = new ProxyEngine({ log: createLogger('bench', 'warn') });
const result = await engine.apply(table);
if (!result.ok) throw new Error(result.error.message);
process.send?.({ port });
process.on('disconnect', () => {
  void engine.close().then(() => process.exit(0));
});
