/**
 * Assembles a route's stages, once per route per table apply: one build context, then the
 * ordered lists below composed from the last stage back (as undici composes interceptors).
 *
 *   access log -> trace -> metrics -> maintenance -> request timeout -> rate limit -> backend choice
 *     -> circuit breaker -> mirror -> retry (or deliver) [ endpoint pick -> forward ]
 *
 * A stage whose setting is absent returns its `next` (no cost). The exchange's completion runs
 * through the same stages, outermost first. See docs/proxy-internals.md.
 */
import type { HttpRoute } from '../http/exchange.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import type { ProxyLimits } from '../limits.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import { LocalZones } from '../ratelimit/zones.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { accessLog } from './access-log.ts';
import { backendChoice } from './backend-choice/backend-choice.ts';
import { circuitBreaker } from './circuit-breaker/circuit-breaker.ts';
import { deliver } from './deliver.ts';
import { endpointPick } from './endpoint-pick.ts';
import { compileRouteExpressions } from './expressions.ts';
import { forward } from './forward.ts';
import { maintenance } from './maintenance.ts';
import { metrics } from './metrics.ts';
import { mirror } from './mirror/mirror.ts';
import { rateLimit } from './rate-limit/rate-limit.ts';
import { requestTimeout } from './request-timeout.ts';
import { retry } from './retry/retry.ts';
import { trace } from './trace.ts';
import type { AttemptHandler, AttemptStage, Completion, Handler, Link, Stage, StageContext } from './types.ts';

/** Request stages, first to last. */
export const STAGES: readonly Stage[] = [accessLog, trace, metrics, maintenance, requestTimeout, rateLimit, backendChoice, circuitBreaker, mirror, retry];
/** Attempt stages, first to last; the last one sends and never calls its `next`. */
export const ATTEMPT_STAGES: readonly AttemptStage[] = [endpointPick, forward];

export interface PipelineOptions {
  /** Default: DEFAULT_LIMITS. */
  limits?: Readonly<ProxyLimits>;
  /** The route's metrics plan: policy stages declare the series they expose. Default: a new one. */
  plan?: RouteStatsPlan;
  /** Default: zones of this route alone. */
  zones?: RateLimitZones;
  /** Largest backend response head accepted on an upgrade relay, in bytes. Default: the limits'. */
  maxHeaderSize?: number;
}

const noCompletion: Completion = () => {};
const unreachable: AttemptHandler = () => {
  throw new Error('the last attempt stage called its next');
};

/** The build context of a route: its expressions compiled (failures become route warnings). */
export function stageContext(route: HttpRoute, opts: PipelineOptions = {}): StageContext {
  let bits = 0;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const base = {
    route,
    limits,
    zones: opts.zones ?? new LocalZones(),
    plan: opts.plan ?? { id: route.id, stats: route.stats, backends: [] },
    expressions: compileRouteExpressions(route),
    maxHeaderSize: opts.maxHeaderSize ?? limits.maxHeaderSize,
    mark: (): number => {
      if (bits >= 31) throw new Error('more than 31 stages mark exchanges');
      return 1 << bits++;
    },
  };
  let attempt = unreachable;
  for (let i = ATTEMPT_STAGES.length - 1; i >= 0; i--) attempt = ATTEMPT_STAGES[i]!(base, attempt);
  return { ...base, attempt };
}

/** Composes `stages` over a context; the end of the chain delivers one attempt. */
export function compose(ctx: StageContext, stages: readonly Stage[] = STAGES): Link {
  let link: Link = { handle: deliver(ctx.attempt), complete: noCompletion };
  for (let i = stages.length - 1; i >= 0; i--) link = stages[i]!(ctx, link);
  return link;
}

/** Builds the route's handler and completion (HttpRoute.handle and .complete). */
export function buildPipeline(route: HttpRoute, opts: PipelineOptions): Link {
  return compose(stageContext(route, opts));
}

/** One stage in front of `handle`, for tests and benches: the stage's handler. */
export function stageHandler(stage: Stage, ctx: StageContext, handle: Handler): Handler {
  return stage(ctx, { handle, complete: noCompletion }).handle;
}
