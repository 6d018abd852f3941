/**
 * Per-backend filters (`filters` of a rule's cluster backend): after the backend choice, the
 * chosen backend's request header edits and rewrites, and its response header edits, on top of
 * the rule's. Only requests sent to that backend get them.
 */
import { clusterBackends } from '../../table/index.ts';
import type { RouteBackend } from '../http/exchange.ts';
import { compileFilters } from './filters/filters.ts';
import type { FilterProgram } from './filters/filters.ts';
import type { Stage } from './types.ts';

export const backendFilters: Stage = (ctx, next) => {
  const rule = ctx.route.rule;
  if (rule === undefined) return next;
  const programs = new Map<RouteBackend, FilterProgram>();
  // The rule's resolved backends are its cluster backends, in order.
  clusterBackends(rule.rule).forEach((b, k) => {
    const resolved = rule.backends[k];
    if (b.filters !== undefined && b.filters.length > 0 && resolved !== undefined) programs.set(resolved, compileFilters(b.filters, ctx.route));
  });
  if (programs.size === 0) return next;
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      const p = ex.backend === undefined ? undefined : programs.get(ex.backend);
      if (p !== undefined) {
        for (const step of p.steps) if (!step(ex)) return;
        ex.backendResponseEdit = p.response;
      }
      handle(ex);
    },
    complete,
  };
};
