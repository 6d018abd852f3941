/**
 * Route status: what translation reports for each Gateway API route (translation/gateway/)
 * becomes `status.parents[]` entries under hostmesh's controllerName, written with the
 * `status` subresource. Entries of other controllers are kept as they are; hostmesh's entries
 * for parents a route no longer names are removed. A condition keeps its lastTransitionTime
 * while its status stays; nothing is written when nothing changed, so a status write (which
 * comes back as a watch event and a new translation) never loops. Writes carry the object's
 * resourceVersion: a route changed meanwhile answers 409 and is planned again from the newer
 * object, so another controller's entry written meanwhile is never lost.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import type { GatewayRef, GatewayRouteObject, RouteCondition, RouteParentStatus } from '../objects.ts';
import { CONTROLLER_NAME } from '../translation/gateway/index.ts';
import type { RouteStatusReport } from '../translation/gateway/index.ts';
import { kubeCall, requestFailure } from './errors.ts';
import type { RunOutcome } from './loop.ts';

const GROUP = 'gateway.networking.k8s.io';

/** A parentRef in one canonical form, for comparing (defaults filled as the API server would). */
function refKey(r: GatewayRef): string {
  return JSON.stringify([r.group ?? GROUP, r.kind ?? 'Gateway', r.namespace ?? '', r.name, r.sectionName ?? '', r.port ?? 0]);
}

/**
 * The `status.parents` a route should have, or undefined when it already has it. `report`
 * absent: hostmesh owns none of its parents (its entries, if any, go).
 */
export function plannedParents(route: GatewayRouteObject, report: RouteStatusReport | undefined, now: string): RouteParentStatus[] | undefined {
  const current = Array.isArray(route.status?.parents) ? route.status.parents : [];
  const others = current.filter((p) => p?.controllerName !== CONTROLLER_NAME);
  const mineBefore = new Map(current.filter((p) => p?.controllerName === CONTROLLER_NAME && p.parentRef).map((p) => [refKey(p.parentRef), p]));
  const generation = route.metadata.generation;
  const mine: RouteParentStatus[] = (report?.parents ?? []).map((p) => {
    const before = mineBefore.get(refKey(p.parentRef));
    const conditions: RouteCondition[] = p.conditions.map((c) => {
      const old = before?.conditions?.find((x) => x.type === c.type);
      return {
        type: c.type, status: c.status, reason: c.reason, message: c.message.length > 32_000 ? `${c.message.slice(0, 31_997)}...` : c.message,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
        lastTransitionTime: old !== undefined && old.status === c.status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : now,
      };
    });
    return { parentRef: p.parentRef, controllerName: CONTROLLER_NAME, conditions };
  });
  const next = [...others, ...mine];
  const same = next.length === current.length && JSON.stringify(mine) === JSON.stringify(current.filter((p) => p?.controllerName === CONTROLLER_NAME));
  return same ? undefined : next;
}

/** RFC 3339 in whole seconds, as Kubernetes writes metav1.Time. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface RouteStatusWriterOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  now?: () => number;
}

/** Writes planned route status; one pass per call, serial (run it from a SerialLoop). */
export class RouteStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #log: Logger;
  readonly #now: () => number;
  /** Writes done, for tests and logs. */
  writes = 0;

  constructor(options: RouteStatusWriterOptions) {
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Plans every route against its report and writes what differs. `again` after a conflict (the
   * informer brings the newer object), `retry` after another failure.
   */
  async sync(routes: readonly { kind: 'HTTPRoute' | 'GRPCRoute'; object: GatewayRouteObject }[], reports: readonly RouteStatusReport[]): Promise<RunOutcome> {
    const byKey = new Map(reports.map((r) => [`${r.kind} ${r.namespace}/${r.name}`, r]));
    let outcome: RunOutcome = 'done';
    for (const { kind, object } of routes) {
      const namespace = object.metadata.namespace || 'default';
      const name = object.metadata.name;
      const parents = plannedParents(object, byKey.get(`${kind} ${namespace}/${name}`), kubeTime(this.#now()));
      if (parents === undefined) continue;
      const plural = kind === 'HTTPRoute' ? 'httproutes' : 'grpcroutes';
      const body = { ...object, apiVersion: `${GROUP}/v1`, kind, status: { ...object.status, parents } };
      try {
        await kubeCall({ verb: 'update', kind: `${kind} status`, namespace, name },
          () => this.#api.replaceNamespacedCustomObjectStatus({ group: GROUP, version: 'v1', namespace, plural, name, body }));
        this.writes++;
        this.#log.debug({ kind, namespace, name }, 'route status written');
      } catch (e) {
        const f = requestFailure(e);
        if (f?.status === 404) continue;
        if (f?.status === 409) {
          if (outcome === 'done') outcome = 'again';
          continue;
        }
        this.#log.warn({ err: e, kind, namespace, name }, 'writing route status failed; retrying');
        outcome = 'retry';
      }
    }
    return outcome;
  }
}
