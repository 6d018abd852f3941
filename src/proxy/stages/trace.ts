/**
 * Tracing, right after the access log stage: decides head sampling and, for a sampled request,
 * starts its server span, which ends (and is queued for export) when the exchange completes.
 * Without tracing the stage is not in the chain at all. See src/proxy/tracing/span.ts.
 */
import type { Stage } from './types.ts';

export const trace: Stage = (ctx, next) => {
  const tracer = ctx.route.tracer;
  if (tracer === undefined) return next;
  const { handle, complete } = next;
  return {
    handle: (ex) => {
      tracer.start(ex);
      handle(ex);
    },
    complete: (ex, status, now) => {
      complete(ex, status, now);
      if (ex.span !== undefined) ex.span.end(ex, now);
    },
  };
};
