/**
 * SMI in translation: the objects read (parse.ts), then each route gets what the TrafficSplits
 * naming its Service say (split.ts) and, in ACL mode, the `access` policy the TrafficTargets
 * grant (access.ts). translate() makes one of these per translation and calls `route()` for
 * every route it builds and `finish()` once at the end; everything is pure and ordered, so equal
 * inputs give equal tables and diagnostics.
 */
import type { RouteEntry } from '../../../table/index.ts';
import type { ClusterState } from '../../objects.ts';
import { diagnostic } from '../diagnostics.ts';
import type { Diagnostic } from '../diagnostics.ts';
import type { MeshedPort, MeshedService, ServiceLookup } from '../model.ts';
import { accessPolicy } from './access.ts';
import type { TrafficSplit } from './model.ts';
import { indexPods, readSmi, smiObject } from './read.ts';
import { applyTrafficSplits } from './split.ts';

export type { PodIndex, SmiIndex } from './read.ts';

export interface SmiTranslation {
  /** Applies TrafficSplits (and in ACL mode the access policy) to one route just built. */
  route(svc: MeshedService, port: MeshedPort, route: RouteEntry): void;
  /** Reports objects nothing used. Call once, after every route. */
  finish(): void;
}

export function smiTranslation(state: ClusterState, acl: boolean, lookup: ServiceLookup, diagnostics: Diagnostic[]): SmiTranslation {
  const index = readSmi(state.smi ?? [], diagnostics);
  // Routes of one Service meet the same objects: each problem is told once.
  const told = new Set<string>();
  const sink: Pick<Diagnostic[], 'push'> = {
    push: (...ds) => {
      for (const d of ds) {
        const key = JSON.stringify(d);
        if (told.has(key)) continue;
        told.add(key);
        diagnostics.push(d);
      }
      return diagnostics.length;
    },
  };
  const pods = acl ? indexPods(state.pods) : undefined;
  const usedSplits = new Set<TrafficSplit>();
  if (!acl) {
    for (const t of index.targets) {
      diagnostics.push(diagnostic('info', 'acl-off', smiObject(t),
        `TrafficTarget ${t.namespace}/${t.name}: ACL mode is off, so TrafficTargets are ignored and every client may reach every Service (start the controller with --acl)`));
    }
  }
  return {
    route(svc, port, route) {
      for (const s of applyTrafficSplits(svc, port, route, index, lookup, sink)) usedSplits.add(s);
      if (pods) route.access = accessPolicy(svc, port, index, pods, sink);
    },
    finish() {
      for (const s of index.splits) {
        if (usedSplits.has(s)) continue;
        const t = lookup(s.namespace, s.service);
        const why = t === 'missing' ? 'does not exist' : t === 'not-meshed' ? 'is not in the mesh' : 'has no routed port';
        sink.push(diagnostic('warning', 'smi-reference-missing', smiObject(s),
          `TrafficSplit ${s.namespace}/${s.name}: its root Service ${s.namespace}/${s.service} ${why}, so the split does nothing`));
      }
    },
  };
}
