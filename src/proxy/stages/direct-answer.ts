/**
 * Direct answers (`respond` backends of a rule, docs/rule-model.md): a backend that answers its
 * weighted share of the rule's requests itself, e.g. 500 for a Gateway API backendRef that does
 * not resolve, 404 for a client a route matches nothing for. The page is the proxy's own (short,
 * names the Service and the reason, JSON when the client asks). The rest of the share goes on
 * to the backend choice among the rule's clusters, so shares are exact: smooth weighted round
 * robin over the answers and the clusters' total weight.
 */
import { isDirectBackend } from '../../table/index.ts';
import { servicePage, wantsJson } from '../http/error-page.ts';
import type { ErrorPage } from '../http/error-page.ts';
import { WeightedChoice } from '../weighted.ts';
import type { Stage } from './types.ts';

interface Answer {
  readonly text: ErrorPage;
  readonly json: ErrorPage;
}

export const directAnswer: Stage = (ctx, next) => {
  const route = ctx.route;
  const rule = route.rule?.rule;
  if (rule === undefined) return next;
  const entries: { item: Answer | null; weight: number }[] = [];
  let clusterWeight = 0;
  for (const b of rule.backends) {
    if (!isDirectBackend(b)) {
      clusterWeight += b.weight;
      continue;
    }
    const { status, reason } = b.respond;
    entries.push({
      item: {
        text: servicePage(status, route.id, undefined, reason, undefined, route.retryAfterSeconds),
        json: servicePage(status, route.id, undefined, reason, 'application/json', route.retryAfterSeconds),
      },
      weight: b.weight,
    });
  }
  if (entries.length === 0) return next;
  // `null`: the clusters' share, passed on.
  entries.push({ item: null, weight: clusterWeight });
  const choice = new WeightedChoice(entries);
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      const a = choice.next();
      if (a === undefined || a === null) handle(ex);
      else ex.respond(wantsJson(ex.req.headers.accept) ? a.json : a.text);
    },
    complete,
  };
};
