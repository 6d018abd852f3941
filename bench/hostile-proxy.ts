/**
 * The proxy of bench/hostile.ts, run as its own process (under `ulimit -n` set by the parent):
 * one HTTP listener on `--port` in front of the backend on `--backend`. Prints `ready` when
 * listening; exits on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { createLogger } from '../src/common/log.ts';
import { TABLE_FORMAT, portId } from '../src/table/index.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, backend: { type: 'string' } } });
const id = portId('bench', 'hostile', 80);
const engine = new ProxyEngine({ processMetrics: false, log: createLogger('bench-proxy', 'silent') });
const applied = await engine.apply({
  format: TABLE_FORMAT,
  epoch: 'bench',
  version: 1,
  generatedAt: new Date().toISOString(),
  dns: { zones: ['hostmesh'], ttl: 5, services: [] },
  clusters: [{
    id, namespace: 'bench', service: 'hostile', port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
    loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 0, failDurationMs: 1000 },
    endpoints: [{ address: '127.0.0.1', port: Number(values.backend) }],
  }],
  routes: [{ id, namespace: 'bench', service: 'hostile', port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }] }],
  listeners: [{ port: Number(values.port), protocol: 'http', route: id }],
});
if (!applied.ok) throw new Error(JSON.stringify(applied));
process.stdout.write(`ready ${engine.overload.fdLimit} ${engine.overload.maxConnections}\n`);
process.on('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
