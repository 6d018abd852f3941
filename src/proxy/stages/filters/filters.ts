/**
 * The rule's filters (`RouteRule.filters`, docs/rule-model.md), in order, on the requests the
 * rule takes: request header edits, rewrites, redirects and CORS preflights (answered here),
 * and response header edits the response-edits attempt stage applies to the backend's head.
 * Each filter type is compiled by its own module in this folder, once per rule.
 */
import type { HttpFilter } from '../../../table/index.ts';
import type { HttpRoute, ResponseEdit } from '../../http/exchange.ts';
import type { Stage } from '../types.ts';
import { corsStep } from './cors.ts';
import { redirectStep } from './redirect.ts';
import { requestHeadersStep } from './request-headers.ts';
import type { FilterStep } from './request-headers.ts';
import { combineEdits, responseHeadersEdit } from './response-headers.ts';
import { rewriteStep } from './rewrite.ts';

/** A filter list compiled: request steps in order, and the response edits as one. */
export interface FilterProgram {
  readonly steps: readonly FilterStep[];
  readonly response: ResponseEdit | undefined;
}

export function compileFilters(list: readonly HttpFilter[], route: HttpRoute): FilterProgram {
  const steps: FilterStep[] = [];
  const edits: ResponseEdit[] = [];
  for (const f of list) {
    switch (f.type) {
      case 'requestHeaders':
        steps.push(requestHeadersStep(f));
        break;
      case 'responseHeaders':
        edits.push(responseHeadersEdit(f));
        break;
      case 'redirect':
        steps.push(redirectStep(f, route));
        break;
      case 'rewrite':
        steps.push(rewriteStep(f));
        break;
      case 'cors':
        steps.push(corsStep(f));
        break;
    }
  }
  return { steps, response: combineEdits(edits) };
}

/** Whether any filter of the rule or of its backends edits response headers. */
export function editsResponses(route: HttpRoute): boolean {
  const rule = route.rule?.rule;
  if (rule === undefined) return false;
  const edits = (fs: readonly HttpFilter[] | undefined): boolean => fs?.some((f) => f.type === 'responseHeaders') === true;
  return edits(rule.filters) || rule.backends.some((b) => 'cluster' in b && edits(b.filters));
}

export const filters: Stage = (ctx, next) => {
  const list = ctx.route.rule?.rule.filters;
  if (list === undefined || list.length === 0) return next;
  const { steps, response } = compileFilters(list, ctx.route);
  const { handle, complete } = next;
  if (steps.length === 0) {
    return {
      handle: (ex) => {
        ex.ruleResponseEdit = response;
        handle(ex);
      },
      complete,
    };
  }
  return {
    handle: (ex) => {
      for (const step of steps) if (!step(ex)) return;
      ex.ruleResponseEdit = response;
      handle(ex);
    },
    complete,
  };
};
