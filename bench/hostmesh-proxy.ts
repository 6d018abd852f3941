/** hostmesh's proxy engine in its own process, fed a one-service table pointing at the backend. */
import { createLogger } from '../src/common/log.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { benchTable, freePort } from './proxy-table.ts';

const backend = Number(process.argv[2]);

const port = await freePort();
const table = benchTable(backend, port);
const engine = new ProxyEngine({ log: createLogger('bench', 'warn') });
const result = await engine.apply(table);
if (!result.ok) throw new Error(result.error.message);
process.send?.({ port });
process.on('disconnect', () => {
  void engine.close().then(() => process.exit(0));
});
