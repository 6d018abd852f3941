/**
 * hostmesh's proxy with `--workers N|auto` in its own process (bench/workers.ts starts it),
 * fed a one-service table pointing at the backend. argv: backendPort workers [rateLimit]
 * where rateLimit `on` adds a limit no request reaches (every request still takes a token
 * from the shared zone). Reports its port and RSS over IPC; answers `rss` messages.
 */
import { createLogger } from '../src/common/log.ts';
import { createProxyHost } from '../src/proxy/workers/host.ts';
import { benchTable, freePort } from './proxy-table.ts';

const backend = Number(process.argv[2]);
const workers = process.argv[3] === 'auto' ? 'auto' : Number(process.argv[3]);
const limited = process.argv[4] === 'on';

const port = await freePort();
const table = benchTable(backend, port, limited ? { rateLimit: { ratePerSecond: 1e9, burst: 1e9, key: '{remote.ip}', zoneSize: 10_000 } } : {});
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
