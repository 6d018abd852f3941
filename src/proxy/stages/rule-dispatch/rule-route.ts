/**
 * A route rule's view of its route, which the rule's branch of stages is built over: the
 * route's entry with the rule's policies in place of the route's (what the rule leaves unset
 * stays the Service's), the rule's backends and mirror, and the rule itself for the rule-only
 * stages (filters, direct answers, backend filters, backend timeout).
 */
import { ROUTE_POLICIES } from '../../../table/index.ts';
import type { RouteEntry } from '../../../table/index.ts';
import type { HttpRoute, HttpRule } from '../../http/exchange.ts';

function unused(): void {}

export function ruleRoute(route: HttpRoute, rule: HttpRule): HttpRoute {
  const r = rule.rule;
  const entry: RouteEntry = { ...route.entry, rules: [], backends: rule.backends.map((b) => ({ cluster: b.cluster.id, weight: b.weight })) };
  for (const p of ROUTE_POLICIES) {
    // `access` (ACL mode) is the route's alone: a rule never carries one.
    if (p.field === 'access') continue;
    const v = r[p.field];
    if (v !== undefined) Object.assign(entry, { [p.field]: v });
  }
  return {
    ...route,
    entry,
    backends: rule.backends,
    rules: [],
    rule,
    mirror: r.mirror !== undefined ? rule.mirror : route.mirror,
    handle: unused,
    complete: unused,
  };
}
