/**
 * Assembles a route's stages, once per route per table apply: one build context, then the
 * ordered lists below composed from the last stage back (as undici composes interceptors).
 *
 *   access log -> trace -> metrics -> access (ACL mode) -> rule dispatch -> maintenance -> request timeout -> rate limit
 *     -> filters -> direct answer -> backend choice -> backend filters -> circuit breaker -> mirror
 *     -> retry (or deliver) [ backend timeout -> response edits -> endpoint pick -> forward ]
 *
 * A stage whose setting is absent returns its `next` (no cost). The exchange's completion runs
 * through the same stages, outermost first. See docs/proxy-internals.md.
 *
 * Route rules (docs/rule-model.md): rule dispatch picks the rule a request takes and hands it
 * to that rule's branch, the stages after dispatch composed once more over the rule's view of
 * the route (its backends, its filters, its policies over the route's). A route without rules
 * has no dispatch and no branch: its chain is the one above with the rule-only stages absent.
 */
import type { HttpRoute } from '../http/exchange.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import type { ProxyLimits } from '../limits.ts';
import type { RouteStatsPlan } from '../metrics.ts';
import { LocalZones } from '../ratelimit/zones.ts';
import type { RateLimitZones } from '../ratelimit/zones.ts';
import { access } from './access/access.ts';
import { accessLog } from './access-log.ts';
import { backendChoice } from './backend-choice/backend-choice.ts';
import { backendFilters } from './backend-filters.ts';
import { backendTimeout } from './backend-timeout.ts';
import { directAnswer } from './direct-answer.ts';
import { filters } from './filters/filters.ts';
import { responseEdits } from './response-edits.ts';
import { ruleDispatch } from './rule-dispatch/rule-dispatch.ts';
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
export const STAGES: readonly Stage[] = [
  accessLog, trace, metrics, access, ruleDispatch, maintenance, requestTimeout, rateLimit, filters, directAnswer, backendChoice, backendFilters,
  circuitBreaker, mirror, retry,
];
/** The stages a route rule's branch is composed of: everything after rule dispatch. */
export const RULE_STAGES: readonly Stage[] = STAGES.slice(STAGES.indexOf(ruleDispatch) + 1);
/** Attempt stages, first to last; the last one sends and never calls its `next`. */
export const ATTEMPT_STAGES: readonly AttemptStage[] = [backendTimeout, responseEdits, endpointPick, forward];

export interface PipelineOptions {
  /** Default: DEFAULT_LIMITS. */
  limits?: Readonly<ProxyLimits>;
  /** The route's metrics plan: policy stages declare the series they expose. Default: a new one. */
  plan?: RouteStatsPlan;
  /** Default: zones of this route alone. */
  zones?: RateLimitZones;
  /** Largest backend response head accepted on an upgrade relay, in bytes. Default: the limits'. */
  maxHeaderSize?: number;
  /** Stages of a rule's branch (tests and benches narrow them). Default: RULE_STAGES. */
  branchStages?: readonly Stage[];
  /** The end of a rule's branch (tests and benches). Default: deliver one attempt. */
  end?: Handler;
}

const noCompletion: Completion = () => {};
const unreachable: AttemptHandler = () => {
  throw new Error('the last attempt stage called its next');
};

/** What the contexts of one route (its own and its rules' branches) share while it is built. */
interface RouteBuild {
  bits: number;
  readonly shared: Map<object, unknown>;
}

/** The build context of a route: its expressions compiled (failures become route warnings). */
export function stageContext(route: HttpRoute, opts: PipelineOptions = {}, build: RouteBuild = { bits: 0, shared: new Map() }): StageContext {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const zones = opts.zones ?? new LocalZones();
  const plan = opts.plan ?? { id: route.id, stats: route.stats, backends: [] };
  const base = {
    route,
    limits,
    zones,
    plan,
    expressions: compileRouteExpressions(route),
    maxHeaderSize: opts.maxHeaderSize ?? limits.maxHeaderSize,
    mark: (): number => {
      if (build.bits >= 31) throw new Error('more than 31 stages mark exchanges');
      return 1 << build.bits++;
    },
    share: <T>(key: object, make: () => T): T => {
      if (!build.shared.has(key)) build.shared.set(key, make());
      return build.shared.get(key) as T;
    },
    branch: (r: HttpRoute): Link => {
      const ctx = stageContext(r, { ...opts, limits, zones, plan }, build);
      return chain(ctx, opts.branchStages ?? RULE_STAGES, opts.end ?? deliver(ctx.attempt));
    },
  };
  let attempt = unreachable;
  for (let i = ATTEMPT_STAGES.length - 1; i >= 0; i--) attempt = ATTEMPT_STAGES[i]!(base, attempt);
  return { ...base, attempt };
}

function chain(ctx: StageContext, stages: readonly Stage[], end: Handler): Link {
  let link: Link = { handle: end, complete: noCompletion };
  for (let i = stages.length - 1; i >= 0; i--) link = stages[i]!(ctx, link);
  return link;
}

/** Composes `stages` over a context; the end of the chain delivers one attempt. */
export function compose(ctx: StageContext, stages: readonly Stage[] = STAGES): Link {
  return chain(ctx, stages, deliver(ctx.attempt));
}

/** Builds the route's handler and completion (HttpRoute.handle and .complete). */
export function buildPipeline(route: HttpRoute, opts: PipelineOptions): Link {
  return compose(stageContext(route, opts));
}

/** One stage in front of `handle`, for tests and benches: the stage's handler. */
export function stageHandler(stage: Stage, ctx: StageContext, handle: Handler): Handler {
  return stage(ctx, { handle, complete: noCompletion }).handle;
}
