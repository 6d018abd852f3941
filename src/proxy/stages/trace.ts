/**
 * Tracing, right after the access log stage: decides head sampling and, for a sampled request,
 * starts its server span (ended when the exchange finishes). Without tracing the stage is not in
 * the chain at all. See src/proxy/tracing/span.ts.
 */
import type { Stage } from './types.ts';

export const traceStart: Stage = (route, next) => {
  const tracer = route.tracer;
  if (tracer === undefined) return next;
  return (ex) => {
    tracer.start(ex);
    next(ex);
  };
};
