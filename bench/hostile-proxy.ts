/**
 * The proxy of bench/hostile.ts, run as its own process (under `ulimit -n` set by the parent):
 * one HTTP listener on `--port` in front of the backend on `--backend`. Prints `ready` with the
 * fd limit and connection budget it found when listening; exits on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { createLogger } from '../src/common/log.ts';
import { benchTable } from './proxy-table.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, backend: { type: 'string' } } });
const engine = new ProxyEngine({ processMetrics: false, log: createLogger('bench-proxy', 'silent') });
const applied = await engine.apply(benchTable(Number(values.backend), Number(values.port)));
if (!applied.ok) throw new Error(JSON.stringify(applied));
process.stdout.write(`ready ${engine.overload.fdLimit} ${engine.overload.maxConnections}\n`);
process.on('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
