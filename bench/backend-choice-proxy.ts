/**
 * A hostmesh proxy engine for bench/backend-choice.ts: one Service in front of the bench backend,
 * with one variant of split rules, sticky cookie or access log switched on. Reports its port over IPC.
 *
 *   plain   no rules, no sticky cookie, no access log (the baseline)
 *   split   two split rules evaluated per request (header glob, path), neither matching
 *   sticky  weights over two clusters plus a sticky cookie; requests carry no cookie, so
 *           every response chooses and sets one (the expensive case)
 *   log     the JSON access log, written asynchronously to /dev/null
 *   all     split + sticky + log
 *   rules10      ten Gateway API style rules (PathPrefix and a header each), none matching
 *   rules10-hit  the same ten, the last one matching (the request runs the rule's stages)
 */
import { openSync } from 'node:fs';
import { createLogger } from '../src/common/log.ts';
import { FdSink } from '../src/proxy/access-log-writer.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import type { RouteEntry } from '../src/table/index.ts';
import { benchTable, freePort } from './proxy-table.ts';

const backend = Number(process.argv[2]);
const variant = process.argv[3] ?? 'plain';

const split = variant === 'split' || variant === 'all';
const sticky = variant === 'sticky' || variant === 'all';
const log = variant === 'log' || variant === 'all';
const rules10 = variant === 'rules10' || variant === 'rules10-hit';

const id = 'bench/server:80';
const route: Partial<RouteEntry> = {};
if (split) {
  route.rules = [
    { match: "header({'User-Agent': '*Chrome*'})", backends: [{ cluster: 'bench/v2:80', weight: 1 }] },
    { match: "path('/beta/*')", backends: [{ cluster: 'bench/v2:80', weight: 1 }] },
  ];
}
if (rules10) {
  // The bench client asks for /api/items with no special header.
  route.rules = Array.from({ length: 10 }, (_, i) => ({
    matches: [{
      path: { type: 'PathPrefix' as const, value: i === 9 && variant === 'rules10-hit' ? '/api' : `/api-${i}` },
      headers: i === 9 && variant === 'rules10-hit' ? [] : [{ type: 'Exact' as const, name: 'X-Canary', value: `v${i}` }],
    }],
    backends: [{ cluster: id, weight: 1 }],
  }));
}
if (sticky) {
  route.backends = [{ cluster: id, weight: 1 }, { cluster: 'bench/v2:80', weight: 1 }];
  route.stickyCookie = 'bench-pin';
}
const port = await freePort();
const table = benchTable(backend, port, route, ['server', 'v2']);
const engine = new ProxyEngine({
  log: createLogger('bench', 'warn'),
  accessLog: log ? new FdSink(openSync('/dev/null', 'w')) : undefined,
});
const result = await engine.apply(table);
if (!result.ok) throw new Error(result.error.message);
process.send?.({ port });
process.on('disconnect', () => {
  void engine.close().then(() => process.exit(0));
});
