/**
 * Chooses the backend cluster of a request.
 *
 * 1. The candidates are the route's backends; on a rule's branch (rule-dispatch chose the rule:
 *    `RouteEntry.rules`, docs/rule-model.md) they are the rule's cluster backends.
 * 2. Sticky cookie (when the route has one): a valid cookie naming a healthy candidate picks it.
 * 3. Otherwise smooth weighted round robin over the candidates. A backend without ready
 *    endpoints is passed over while another one has some, so a canary scaled to zero does not
 *    fail its share of requests; with a sticky cookie, backends whose endpoints all rest are
 *    passed over too, and the response sets the cookie to the backend chosen.
 *
 * The request then goes straight to that cluster's endpoints, with the cluster's own settings.
 */
import { withSetCookie } from '../../http/cookies.ts';
import type { Exchange, RouteBackend } from '../../http/exchange.ts';
import { WeightedChoice } from '../../weighted.ts';
import type { Handler, Stage } from '../types.ts';
import { healthy, StickyCookie } from './sticky.ts';
import type { StickyGroup } from './sticky.ts';

function hasEndpoints(b: RouteBackend): boolean {
  return b.cluster.pool.size > 0;
}

/** The backends one request may go to: the route's (or on a rule's branch, the rule's). */
interface Candidates {
  readonly choice: WeightedChoice<RouteBackend>;
  readonly sticky: StickyGroup | undefined;
}

function candidates(backends: readonly RouteBackend[], sticky: StickyCookie | undefined): Candidates {
  return {
    choice: new WeightedChoice(backends.map((b) => ({ item: b, weight: b.weight }))),
    sticky: sticky?.group(backends),
  };
}

function pickWeighted(choice: WeightedChoice<RouteBackend>): RouteBackend {
  return choice.next(hasEndpoints) ?? choice.next()!;
}

/** Weighted choice alone: routes without sticky cookie (nearly all) take this path. */
function weightedOnly(choice: WeightedChoice<RouteBackend>, next: Handler): Handler {
  if (choice.items.length === 0) return (ex) => ex.fail('no-backend');
  if (choice.items.length === 1) {
    const only = choice.items[0]!;
    return (ex) => {
      ex.backend = only;
      next(ex);
    };
  }
  return (ex) => {
    ex.backend = pickWeighted(choice);
    next(ex);
  };
}

export const backendChoice: Stage = (ctx, link) => {
  const route = ctx.route;
  const next = link.handle;
  const cookieName = route.entry.stickyCookie;
  const sticky = cookieName === undefined ? undefined : new StickyCookie(cookieName, route.id, route.affinitySecret);
  const fallback = candidates(route.backends, sticky);
  if (sticky === undefined) return { handle: weightedOnly(fallback.choice, next), complete: link.complete };

  const choose = (ex: Exchange, to: Candidates): void => {
    const choice = to.choice;
    if (choice.items.length === 0) {
      ex.fail('no-backend');
      return;
    }
    const group = to.sticky!;
    const pinned = group.pinned(sticky.read(ex.req));
    if (pinned !== undefined) {
      ex.backend = pinned;
      next(ex);
      return;
    }
    const b = choice.next(healthy) ?? pickWeighted(choice);
    ex.backend = b;
    ex.extraHeaders = withSetCookie(ex.extraHeaders, sticky.name, group.setCookie(b));
    next(ex);
  };

  return { handle: (ex) => choose(ex, fallback), complete: link.complete };
};
