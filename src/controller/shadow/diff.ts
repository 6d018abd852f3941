/**
 * What to write so the shadow Services in the mesh namespace become the desired ones. An
 * update is planned only when something hostmesh owns differs, compared after the server's
 * defaults, so writing the result and reading it back plans nothing (no write loops).
 */
import { MANAGED_BY_LABEL, SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION } from '../constants.ts';
import type { ServiceObject, ServicePort } from '../objects.ts';
import { isShadowService } from './services.ts';

export interface ShadowConflict {
  /** `namespace/name` of the shadow Service that cannot be written. */
  service: string;
  reason: string;
}

export interface ShadowDiff {
  create: ServiceObject[];
  /** The existing objects with the desired fields applied; they keep their resourceVersion and ClusterIP. */
  update: ServiceObject[];
  /** Shadow Services no longer wanted. */
  delete: ServiceObject[];
  /** Desired shadows that cannot be written: the name belongs to a Service hostmesh does not manage, or two shadows got one name. */
  conflicts: ShadowConflict[];
}

type Spec = NonNullable<ServiceObject['spec']> & { ipFamilyPolicy?: string };

function key(svc: ServiceObject): string {
  return `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
}

function portKey(p: ServicePort): string {
  const target = typeof p.targetPort === 'string' && /^\d+$/.test(p.targetPort) ? Number(p.targetPort) : p.targetPort ?? p.port;
  return JSON.stringify([p.port, (p.protocol ?? 'TCP').toUpperCase(), p.name ?? '', target]);
}

function samePorts(a: readonly ServicePort[] | undefined, b: readonly ServicePort[] | undefined): boolean {
  const ka = (a ?? []).map(portKey).toSorted();
  const kb = (b ?? []).map(portKey).toSorted();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => b?.[k] === v);
}

/**
 * upToDate() of a desired shadow, by the existing object it was compared with: informer objects
 * and desired shadows are replaced, never changed in place, so the resync's pass over 10,000
 * unchanged shadows compares nothing again.
 */
const compared = new WeakMap<ServiceObject, { existing: ServiceObject; same: boolean }>();

function upToDateCached(desired: ServiceObject, existing: ServiceObject): boolean {
  const seen = compared.get(desired);
  if (seen?.existing === existing) return seen.same;
  const same = upToDate(desired, existing);
  compared.set(desired, { existing, same });
  return same;
}

/** Whether `existing` already has every field of `desired` that hostmesh owns. */
function upToDate(desired: ServiceObject, existing: ServiceObject): boolean {
  const want = (desired.spec ?? {}) as Spec;
  const have = (existing.spec ?? {}) as Spec;
  const owned = [MANAGED_BY_LABEL];
  const ownedAnnotations = [SHADOW_OF_ANNOTATION, SHADOW_PORTS_ANNOTATION];
  return (have.type ?? 'ClusterIP') === (want.type ?? 'ClusterIP')
    && (have.internalTrafficPolicy ?? 'Cluster') === (want.internalTrafficPolicy ?? 'Cluster')
    && sameMap(have.selector, want.selector)
    && samePorts(have.ports, want.ports)
    && (want.ipFamilyPolicy === undefined || have.ipFamilyPolicy === want.ipFamilyPolicy)
    && owned.every((l) => existing.metadata.labels?.[l] === desired.metadata.labels?.[l])
    && ownedAnnotations.every((a) => existing.metadata.annotations?.[a] === desired.metadata.annotations?.[a]);
}

/** `existing` with the desired owned fields written over it; everything else (ClusterIP, others' labels) kept. */
function applyDesired(desired: ServiceObject, existing: ServiceObject): ServiceObject {
  const next = structuredClone(existing);
  next.metadata.labels = { ...existing.metadata.labels, ...desired.metadata.labels };
  next.metadata.annotations = { ...existing.metadata.annotations, ...desired.metadata.annotations };
  next.spec = { ...existing.spec, ...structuredClone(desired.spec) };
  return next;
}

export function diffShadowServices(desired: readonly ServiceObject[], existing: readonly ServiceObject[]): ShadowDiff {
  const steps = diffSteps(desired, existing, Number.POSITIVE_INFINITY);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Shadows compared per turn of the event loop by diffShadowServicesInSlices. */
export const DIFF_SLICE = 1000;

/**
 * diffShadowServices() in slices of `slice` shadows, each in its own turn of the event loop:
 * the resync's pass over 10,000 shadows never holds up a watch event, a translation or a
 * proxy's stream for its whole length. The result is the one for the lists as they were given.
 */
export async function diffShadowServicesInSlices(desired: readonly ServiceObject[], existing: readonly ServiceObject[], slice = DIFF_SLICE): Promise<ShadowDiff> {
  const steps = diffSteps(desired, existing, slice);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* diffSteps(desired: readonly ServiceObject[], existing: readonly ServiceObject[], slice: number): Generator<void, ShadowDiff> {
  const diff: ShadowDiff = { create: [], update: [], delete: [], conflicts: [] };
  const have = new Map(existing.map((svc) => [key(svc), svc]));
  const wanted = new Map<string, ServiceObject>();
  // Each key built once, not twice per comparison.
  const order = (list: [string, ServiceObject][]): [string, ServiceObject][] => list.toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let n = 0;
  for (const [k, svc] of order(desired.map((svc) => [key(svc), svc]))) {
    if (++n % slice === 0) yield;
    const first = wanted.get(k);
    if (first) {
      diff.conflicts.push({
        service: k,
        reason: `both ${first.metadata.annotations?.[SHADOW_OF_ANNOTATION]} and ${svc.metadata.annotations?.[SHADOW_OF_ANNOTATION]} want the shadow name ${k}`,
      });
      continue;
    }
    wanted.set(k, svc);
    const current = have.get(k);
    if (!current) diff.create.push(svc);
    else if (!isShadowService(current)) {
      diff.conflicts.push({ service: k, reason: `Service ${k} exists and is not a hostmesh shadow (no ${SHADOW_OF_ANNOTATION} annotation); it is left alone` });
    } else if (!upToDateCached(svc, current)) diff.update.push(applyDesired(svc, current));
  }
  yield;
  for (const [k, svc] of order([...have])) {
    if (!wanted.has(k) && isShadowService(svc)) diff.delete.push(svc);
  }
  return diff;
}
