/**
 * Assembles a route's stages, once per route per table apply. Built from the last stage back:
 *
 *   access log -> maintenance -> request timeout -> rate limit -> backend choice
 *     -> circuit breaker -> replay body -> mirror -> retry [ endpoint pick -> forward ]
 *
 * (trace follows access log when tracing is on.) A stage whose setting is absent returns its `next` (no cost). See docs/proxy-internals.md.
 */
import type { HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import { accessLogStart } from './access-log.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { backendChoice } from './backend-choice.ts';
import { circuitBreaker } from './circuit-breaker.ts';
import { endpointPick } from './endpoint-pick.ts';
import { forward } from './forward.ts';
import type { ForwardOptions } from './forward.ts';
import { maintenance } from './maintenance.ts';
import { mirror } from './mirror.ts';
import { replayBody } from './replay-body.ts';
import { rateLimit } from './rate-limit.ts';
import { requestTimeout } from './request-timeout.ts';
import { retry } from './retry.ts';
import { traceStart } from './trace.ts';
import type { Handler } from './types.ts';

export interface PipelineOptions extends ForwardOptions {
  limits: Readonly<ProxyLimits>;
  /** The route's metrics plan: policy stages declare the series they expose. */
  plan: RouteStatsPlan;
  rateLimits: RateLimitZones;
}

export function buildPipeline(route: HttpRoute, opts: PipelineOptions): Handler {
  const attempt = endpointPick(route, forward(route, opts));
  let h: Handler = retry(route, attempt, opts.limits, opts.plan);
  h = mirror(route, h, opts.limits, opts.plan);
  h = replayBody(route, h, opts.limits);
  h = circuitBreaker(route, h, opts.limits, opts.plan);
  h = backendChoice(route, h);
  h = rateLimit(route, opts.rateLimits, h);
  h = requestTimeout(route, h);
  h = maintenance(route, h);
  h = traceStart(route, h);
  return accessLogStart(route, h);
}
