import { withSetCookie } from '../../http/cookies.js';
import { WeightedChoice } from '../../weighted.js';
import { RequestView } from '../request-view.js';
import { healthy, StickyCookie } from './sticky.js';
function hasEndpoints(b) {
    return b.cluster.pool.size > 0;
}
function candidates(backends, sticky) {
    return {
        choice: new WeightedChoice(backends.map((b) => ({ item: b, weight: b.weight }))),
        sticky: sticky?.group(backends),
    };
}
/** Rules whose expression does not compile are left out (expressions.ts reported them). */
function compileRules(route, matchers, sticky) {
    const out = [];
    route.rules.forEach((rule, i) => {
        const matches = matchers[i];
        if (matches !== undefined)
            out.push({ matches, to: candidates(rule.backends, sticky) });
    });
    return out;
}
function pickWeighted(choice) {
    return choice.next(hasEndpoints) ?? choice.next();
}
/** Weighted choice alone: routes without rules or sticky cookie (nearly all) take this path. */
function weightedOnly(choice, next) {
    if (choice.items.length === 0)
        return (ex) => ex.fail('no-backend');
    if (choice.items.length === 1) {
        const only = choice.items[0];
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
export const backendChoice = (ctx, link) => {
    const route = ctx.route;
    const next = link.handle;
    const cookieName = route.entry.stickyCookie;
    const sticky = cookieName === undefined ? undefined : new StickyCookie(cookieName, route.id, route.affinitySecret);
    const fallback = candidates(route.backends, sticky);
    const rules = compileRules(route, ctx.expressions.rules, sticky);
    if (rules.length === 0 && sticky === undefined)
        return { handle: weightedOnly(fallback.choice, next), complete: link.complete };
    const choose = (ex, to) => {
        const choice = to.choice;
        if (choice.items.length === 0) {
            ex.fail('no-backend');
            return;
        }
        if (sticky === undefined) {
            ex.backend = pickWeighted(choice);
            next(ex);
            return;
        }
        const group = to.sticky;
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
    if (rules.length === 0)
        return { handle: (ex) => choose(ex, fallback), complete: link.complete };
    // One view per route, bound around each (synchronous) evaluation.
    const view = new RequestView();
    const matched = (ex) => {
        let to = fallback;
        view.bind(ex.req, ex.method);
        try {
            for (const rule of rules) {
                if (rule.matches(view)) {
                    to = rule.to;
                    break;
                }
            }
        }
        finally {
            view.unbind();
        }
        choose(ex, to);
    };
    return { handle: matched, complete: link.complete };
};
