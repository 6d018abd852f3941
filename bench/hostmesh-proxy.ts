/**
 * hostmesh's proxy engine in its own process, fed a one-service table pointing at the backend.
 * Arguments: backend port, then optionally a trace collector URL and a sampling ratio.
 */
import { createLogger } from '../src/common/log.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { benchTable, freePort } from './proxy-table.ts';

const backend = Number(process.argv[2]);

const port = await freePort();
const table = benchTable(backend, port);
const [collector, sampling] = process.argv.slice(3);
const tracing = collector === undefined ? undefined : { collector, sampling: Number(sampling) };
const engine = new ProxyEngine({ log: createLogger('bench', 'warn'), tracing });
const result = await engine.apply(table);
if (!result.ok) throw new Error(result.error.message);
process.send?.({ port });
process.on('disconnect', () => {
  void engine.close().then(() => process.exit(0));
});
