/**
 * `rewrite` filters (Gateway API URLRewrite): the backend gets another Host header and/or path
 * (the full path, or the part the rule's PathPrefix match matched replaced), the query kept.
 * The client's request is not changed; the exchange carries the new target (`ex.path`).
 */
import type { RewriteFilter } from '../../../table/index.ts';
import { replacePath, splitTarget } from './path.ts';
import { setHeader } from './request-headers.ts';
import type { FilterStep } from './request-headers.ts';

export function rewriteStep(f: RewriteFilter): FilterStep {
  const hostname = f.hostname;
  const mod = f.path;
  return (ex) => {
    if (hostname !== undefined) setHeader(ex.backendHeaders(), 'host', hostname);
    if (mod !== undefined) {
      const [path, query] = splitTarget(ex.path ?? ex.req.url ?? '/');
      ex.path = replacePath(mod, path, ex.prefixLength) + query;
    }
    return true;
  };
}
