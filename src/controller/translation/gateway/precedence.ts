/**
 * The order of matches across every route attached to one Service port, as the Gateway API
 * spec defines it. HTTPRoute: an Exact path, then a RegularExpression path (hostmesh's choice:
 * the spec leaves it to the implementation; before prefixes so a regex is not hidden behind a
 * catch-all `/`), then the longest PathPrefix; then a method match; then more header matches;
 * then more query parameter matches. GRPCRoute: more characters in the service, then in the
 * method, then more header matches. Ties: the oldest route (creationTimestamp), then the route's
 * `namespace/name` alphabetically, then the rule's and the match's order within the route.
 * GRPCRoute matches come before HTTPRoute matches when both attach to one port.
 */
import type { ParsedRoute, ParsedRule, RankedMatch } from './parse.ts';

export interface Entry {
  route: ParsedRoute;
  rule: ParsedRule;
  /** Undefined: the rule has no matches (it takes every request, like PathPrefix /). */
  match: RankedMatch | undefined;
  matchIndex: number;
}

/** A rule without matches ranks as the HTTPRoute default, PathPrefix `/`. */
const EVERYTHING: RankedMatch = { match: {}, pathKind: 2, primary: 1, secondary: 0, hasMethod: false, headers: 0, queryParams: 0 };

export function compareEntries(a: Entry, b: Entry): number {
  const grpc = (a.route.kind === 'GRPCRoute' ? 0 : 1) - (b.route.kind === 'GRPCRoute' ? 0 : 1);
  if (grpc !== 0) return grpc;
  const x = a.match ?? EVERYTHING;
  const y = b.match ?? EVERYTHING;
  const byMatch = a.route.kind === 'GRPCRoute'
    ? y.primary - x.primary || y.secondary - x.secondary || y.headers - x.headers
    : x.pathKind - y.pathKind || y.primary - x.primary || Number(y.hasMethod) - Number(x.hasMethod) || y.headers - x.headers || y.queryParams - x.queryParams;
  if (byMatch !== 0) return byMatch;
  return compareText(a.route.created, b.route.created)
    || compareText(`${a.route.namespace}/${a.route.name}`, `${b.route.namespace}/${b.route.name}`)
    || a.rule.index - b.rule.index
    || a.matchIndex - b.matchIndex;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
