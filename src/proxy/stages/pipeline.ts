/**
 * Assembles a route's stages, once per route per table apply. Today's chain:
 *
 *   request timeout -> rate limit -> backend choice -> deliver [ endpoint pick -> forward ]
 *
 * Policy stages of later issues slot in between (see docs/proxy-internals.md).
 */
import type { HttpRoute } from '../http/exchange.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { backendChoice } from './backend-choice.ts';
import { deliver } from './deliver.ts';
import { endpointPick } from './endpoint-pick.ts';
import { forward } from './forward.ts';
import type { ForwardOptions } from './forward.ts';
import { rateLimit } from './rate-limit.ts';
import { requestTimeout } from './request-timeout.ts';
import type { Handler } from './types.ts';

export interface PipelineOptions extends ForwardOptions {
  rateLimits: RateLimitZones;
}

export function buildPipeline(route: HttpRoute, opts: PipelineOptions): Handler {
  const attempt = endpointPick(route, forward(route, opts));
  let h = deliver(route, attempt);
  h = backendChoice(route, h);
  h = rateLimit(route, opts.rateLimits, h);
  return requestTimeout(route, h);
}
