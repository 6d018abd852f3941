/**
 * A proxy engine in a process of its own, for test/hostile/fd-limit.test.ts, which starts it
 * under a low `ulimit -n`: one HTTP listener on `--port` in front of the backend on `--backend`.
 * Prints `ready <fd limit> <connection budget> <client budget>` once listening; exits on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { ProxyEngine } from '../../src/proxy/engine.ts';
import { createLogger } from '../../src/common/log.ts';
import { svc } from '../proxy/helpers.ts';
import { simpleTable } from '../support/tables.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, backend: { type: 'string' } } });
const engine = new ProxyEngine({ processMetrics: false, log: createLogger('fd-limited-proxy', 'silent') });
const applied = await engine.apply(simpleTable([{ cluster: svc('raw', [Number(values.backend)]), listenPort: Number(values.port) }]));
if (!applied.ok) throw new Error(JSON.stringify(applied));
const o = engine.overload;
process.stdout.write(`ready ${o.fdLimit} ${o.fdBudget} ${o.maxConnections}\n`);
process.on('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
