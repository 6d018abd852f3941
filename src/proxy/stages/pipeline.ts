/**
 * Assembles a route's stages, once per route per table apply. Today's chain:
 *
 *   request timeout -> backend choice -> deliver [ endpoint pick -> forward ]
 *
 * Policy stages of later issues slot in between (see docs/proxy-internals.md).
 */
import type { HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import { backendChoice } from './backend-choice.ts';
import { deliver } from './deliver.ts';
import { endpointPick } from './endpoint-pick.ts';
import { forward } from './forward.ts';
import type { ForwardOptions } from './forward.ts';
import { requestTimeout } from './request-timeout.ts';
import type { Handler } from './types.ts';

export interface PipelineOptions extends ForwardOptions {
  limits: Readonly<ProxyLimits>;
  /** The route's metrics plan: policy stages declare the series they expose. */
  plan: RouteStatsPlan;
}

export function buildPipeline(route: HttpRoute, opts: PipelineOptions): Handler {
  const attempt = endpointPick(route, forward(route, opts));
  return requestTimeout(route, backendChoice(route, deliver(route, attempt)));
}
