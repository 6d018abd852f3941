/**
 * TrafficSplit -> the route of its root Service (every port):
 *
 * - Without `matches`: the split's weighted backends become the route's default backends, the
 *   same weighted choice as the `traffic-split-weights` annotation. Several such splits of one
 *   Service: the first by name is used, the others are reported.
 * - With `matches` (v1alpha3+): one rule per split, in name order, whose structured matches are
 *   every match of the HTTPRouteGroups it names and whose backends are its weighted backends;
 *   requests no rule takes go to the root Service itself (as the spec says). http ports only.
 * - A backend must be a meshed Service of the same namespace with a port of the same number
 *   and protocol; otherwise its weight is dropped and reported (as for annotations).
 * - Precedence: a Service any TrafficSplit names ignores its traffic-split annotations (weights
 *   and expression), with a warning; HTTPRoutes attached to the Service override both (see
 *   docs/smi.md, "Precedence").
 */
import type { HttpMatch, RouteEntry, RouteRule, WeightedCluster } from '../../../table/index.ts';
import { diagnostic, serviceObject } from '../diagnostics.ts';
import type { Diagnostic } from '../diagnostics.ts';
import type { MeshedPort, MeshedService, ServiceLookup } from '../model.ts';
import { portTarget } from '../routes.ts';
import type { SmiIndex } from './read.ts';
import { smiObject } from './read.ts';
import { toHttpMatch } from './matches.ts';
import type { TrafficSplit } from './model.ts';

/** Applies the splits naming `svc` to its route; returns the splits used. */
export function applyTrafficSplits(svc: MeshedService, port: MeshedPort, route: RouteEntry, index: SmiIndex, lookup: ServiceLookup, diagnostics: Pick<Diagnostic[], 'push'>): TrafficSplit[] {
  const splits = index.splits.filter((s) => s.namespace === svc.namespace && s.service === svc.name);
  if (splits.length === 0) return [];
  const where = `${svc.namespace}/${svc.name} port ${port.port}`;
  const names = splits.map((s) => `TrafficSplit ${s.namespace}/${s.name}`).join(', ');
  if (svc.settings.split !== undefined) {
    diagnostics.push(diagnostic('warning', 'split-overridden', serviceObject(svc.namespace, svc.name),
      `${where}: ${names} ${splits.length === 1 ? 'configures' : 'configure'} its backends, so its traffic-split annotation is ignored (precedence: HTTPRoute, then TrafficSplit, then annotations)`));
  }
  route.rules = [];
  route.backends = [{ cluster: port.id, weight: 1 }];

  const plain = splits.filter((s) => s.matches.length === 0);
  const first = plain[0];
  if (first !== undefined) {
    for (const other of plain.slice(1)) {
      diagnostics.push(diagnostic('warning', 'smi-conflict', smiObject(other),
        `TrafficSplit ${other.namespace}/${other.name}: ${where} is already split by TrafficSplit ${first.namespace}/${first.name} (first by name), so this one is ignored there`));
    }
    const backends = resolveBackends(first, svc, port, lookup, diagnostics);
    if (backends.some((b) => b.weight > 0)) route.backends = backends;
    else {
      diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(first),
        `TrafficSplit ${first.namespace}/${first.name}: ${where}: no backend with a weight above 0 is left, so traffic goes to the Service itself`));
    }
  }

  for (const split of splits.filter((s) => s.matches.length > 0)) {
    const label = `TrafficSplit ${split.namespace}/${split.name}`;
    if (port.protocol !== 'http') {
      diagnostics.push(diagnostic('warning', 'split-unsupported', smiObject(split),
        `${label}: its matches need http; ${where} is ${port.protocol}, so the split does not apply there`));
      continue;
    }
    const matches = groupMatches(split, index, diagnostics);
    if (matches.length === 0) {
      diagnostics.push(diagnostic('warning', 'smi-reference-missing', smiObject(split),
        `${label}: none of its matches can be used, so no request of ${where} is split by it`));
      continue;
    }
    const backends = resolveBackends(split, svc, port, lookup, diagnostics);
    if (!backends.some((b) => b.weight > 0)) {
      diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(split),
        `${label}: ${where}: no backend with a weight above 0 is left, so matching requests go to the Service itself`));
      continue;
    }
    const rule: RouteRule = { origin: label, matches, backends };
    route.rules.push(rule);
  }
  return splits;
}

function resolveBackends(split: TrafficSplit, svc: MeshedService, port: MeshedPort, lookup: ServiceLookup, diagnostics: Pick<Diagnostic[], 'push'>): WeightedCluster[] {
  const out: WeightedCluster[] = [];
  for (const b of split.backends) {
    const t = b.service === svc.name ? { cluster: port.id } : portTarget(svc, port, lookup, b.service);
    if ('cluster' in t) {
      const same = out.find((x) => x.cluster === t.cluster);
      if (same) same.weight += b.weight;
      else out.push({ cluster: t.cluster, weight: b.weight });
    } else {
      diagnostics.push(diagnostic('error', 'split-target-missing', smiObject(split),
        `TrafficSplit ${split.namespace}/${split.name}: ${svc.namespace}/${svc.name} port ${port.port}: backend ${b.service}: ${t.problem}, so it gets no traffic (weight ${b.weight} dropped)`));
    }
  }
  return out;
}

/** Every usable match of the HTTPRouteGroups a split names, in order. */
function groupMatches(split: TrafficSplit, index: SmiIndex, diagnostics: Pick<Diagnostic[], 'push'>): HttpMatch[] {
  const out: HttpMatch[] = [];
  const label = `TrafficSplit ${split.namespace}/${split.name}`;
  for (const ref of split.matches) {
    if (ref.kind !== 'HTTPRouteGroup') {
      diagnostics.push(diagnostic('warning', 'smi-reference-missing', smiObject(split), `${label}: spec.matches names a ${ref.kind}; only HTTPRouteGroup is read, so ${ref.name} is ignored`));
      continue;
    }
    const group = index.routeGroups.get(`${split.namespace}/${ref.name}`);
    if (group === undefined) {
      diagnostics.push(diagnostic('error', 'smi-reference-missing', smiObject(split), `${label}: HTTPRouteGroup ${split.namespace}/${ref.name} does not exist, so its matches are missing from the split`));
      continue;
    }
    for (const m of group.matches) {
      const r = toHttpMatch(m);
      if (r.ok) out.push(r.match);
      else diagnostics.push(diagnostic('error', 'smi-invalid', smiObject(group), `HTTPRouteGroup ${group.namespace}/${group.name}: ${r.problem}; the match is left out`));
    }
  }
  return out;
}
