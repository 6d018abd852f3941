/**
 * Rule dispatch (docs/rule-model.md): the route's rules in order; the first that applies to the
 * client (`clients`: the namespace of the connection's source address in the identity map) and
 * matches the request (its `match` expression, or any of its structured `matches`, or always)
 * takes it, and the request runs through that rule's branch: the stages after this one, built
 * once over the rule's view of the route (its backends, filters and policies). A request no
 * rule takes goes on to the route's own stages. A route without rules has no dispatch at all.
 * Matching reads the request lazily through one reused input and allocates nothing of its own
 * unless a match reads the query.
 */
import type { ClientScope } from '../../../table/index.ts';
import type { Exchange } from '../../http/exchange.ts';
import type { Link, Stage } from '../types.ts';
import { compileMatches, MatchInput } from '../match.ts';
import type { MatchTest } from '../match.ts';
import { ruleRoute } from './rule-route.ts';

interface DispatchRule {
  readonly index: number;
  /** Whether the rule applies to a client of this namespace (undefined: unknown client); absent: every client. */
  readonly applies: ((namespace: string | undefined) => boolean) | undefined;
  /** Absent: the rule takes every request. */
  readonly test: MatchTest | undefined;
  readonly link: Link;
}

function scope(clients: ClientScope | undefined): DispatchRule['applies'] {
  if (clients === undefined) return undefined;
  const only = clients.namespaces === undefined ? undefined : new Set(clients.namespaces);
  const except = clients.exceptNamespaces === undefined ? undefined : new Set(clients.exceptNamespaces);
  return (ns) => (only === undefined || (ns !== undefined && only.has(ns))) && (except === undefined || ns === undefined || !except.has(ns));
}

export const ruleDispatch: Stage = (ctx, next) => {
  const route = ctx.route;
  // A rule's own branch never dispatches again.
  if (route.rules.length === 0 || route.rule !== undefined) return next;
  const warn = (what: string, message: string): void => {
    const text = `route ${route.id}: ${what} is ignored (the match never matches): ${message}`;
    if (!route.warnings.includes(text)) route.warnings.push(text);
  };
  const rules: DispatchRule[] = [];
  const links: (Link | undefined)[] = [];
  route.rules.forEach((httpRule, i) => {
    const r = httpRule.rule;
    let test: MatchTest | undefined;
    if (r.match !== undefined) {
      const m = ctx.expressions.rules[i];
      // An expression that does not compile leaves the rule out (expressions.ts warned).
      if (m === undefined) return;
      test = m;
    } else if (r.matches !== undefined) {
      test = compileMatches(r.matches, `rules[${i}]`, warn);
    }
    const link = ctx.branch(ruleRoute(route, httpRule));
    links[i] = link;
    rules.push({ index: i, applies: scope(r.clients), test, link });
  });
  const scoped = rules.some((r) => r.applies !== undefined);
  const input = new MatchInput();
  const { handle, complete } = next;

  const take = (ex: Exchange): Link | undefined => {
    let ns: string | undefined;
    let looked = !scoped;
    input.bind(ex.req, ex.method);
    try {
      for (const r of rules) {
        if (r.applies !== undefined) {
          if (!looked) {
            ns = ex.identity()?.namespace;
            looked = true;
          }
          if (!r.applies(ns)) continue;
        }
        input.prefix = -1;
        if (r.test === undefined || r.test(input)) {
          ex.rule = r.index;
          ex.prefixLength = input.prefix;
          return r.link;
        }
      }
      return undefined;
    } finally {
      input.unbind();
    }
  };

  return {
    handle: (ex) => {
      const link = take(ex);
      if (link === undefined) handle(ex);
      else link.handle(ex);
    },
    complete: (ex, status, now) => {
      const link = ex.rule >= 0 ? links[ex.rule] : undefined;
      if (link === undefined) complete(ex, status, now);
      else link.complete(ex, status, now);
    },
  };
};
