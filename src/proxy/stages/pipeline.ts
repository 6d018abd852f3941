/**
 * Assembles a route's stages, once per route per table apply. Today's chain:
 *
 *   access log -> request timeout -> backend choice -> deliver [ endpoint pick -> forward ]
 *
 * Policy stages of later issues slot in between (see docs/proxy-internals.md).
 */
import type { HttpRoute } from '../http/exchange.ts';
import { accessLogStart } from './access-log.ts';
import { backendChoice } from './backend-choice.ts';
import { deliver } from './deliver.ts';
import { endpointPick } from './endpoint-pick.ts';
import { forward } from './forward.ts';
import type { ForwardOptions } from './forward.ts';
import { requestTimeout } from './request-timeout.ts';
import type { Handler } from './types.ts';

export function buildPipeline(route: HttpRoute, opts: ForwardOptions): Handler {
  const attempt = endpointPick(route, forward(route, opts));
  const request = requestTimeout(route, backendChoice(route, deliver(route, attempt)));
  return accessLogStart(route, request);
}
