/**
 * The SMI objects of a state, read (parse.ts) and indexed, and who runs which pod: what split.ts
 * and access.ts look things up in.
 */
import type { PodObject } from '../../objects.ts';
import { cmp, diagnostic } from '../diagnostics.ts';
import type { Diagnostic, DiagnosticObject } from '../diagnostics.ts';
import type { HttpRouteGroup, PortRoute, SmiObject, TrafficSplit, TrafficTarget } from './model.ts';
import { parseSmiObject } from './parse.ts';

export interface SmiIndex {
  splits: TrafficSplit[];
  /** By `namespace/name`. */
  routeGroups: Map<string, HttpRouteGroup>;
  tcpRoutes: Map<string, PortRoute>;
  udpRoutes: Map<string, PortRoute>;
  targets: TrafficTarget[];
}

export function smiObject(o: Pick<SmiObject, 'kind' | 'namespace' | 'name'>): DiagnosticObject {
  return { kind: o.kind, namespace: o.namespace, name: o.name };
}

/** Every SMI object of the state, read; problems reported. Sorted, first of a kind/namespace/name kept. */
export function readSmi(objects: readonly unknown[], diagnostics: Diagnostic[]): SmiIndex {
  const index: SmiIndex = { splits: [], routeGroups: new Map(), tcpRoutes: new Map(), udpRoutes: new Map(), targets: [] };
  const seen = new Set<string>();
  const parsed: SmiObject[] = [];
  for (const raw of objects) {
    const r = parseSmiObject(raw);
    const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    if (!r.ok) {
      const kind = (raw as { kind?: unknown } | null)?.kind;
      const name = typeof meta?.name === 'string' ? meta.name : '(unnamed)';
      const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
      const objectKind = typeof kind === 'string' && isSmiDiagnosticKind(kind) ? kind : 'TrafficSplit';
      diagnostics.push(diagnostic('error', 'smi-invalid', { kind: objectKind, namespace, name },
        `${typeof kind === 'string' ? kind : 'object'} ${namespace}/${name}: ${r.problem}; it is ignored`));
      continue;
    }
    const o = r.object;
    for (const note of r.notes) diagnostics.push(diagnostic('info', 'smi-note', smiObject(o), `${o.kind} ${o.namespace}/${o.name}: ${note}`));
    const key = `${o.kind} ${o.namespace}/${o.name}`;
    if (seen.has(key)) {
      diagnostics.push(diagnostic('warning', 'smi-conflict', smiObject(o), `${key} is read more than once (${o.apiVersion}); the first one is used`));
      continue;
    }
    seen.add(key);
    parsed.push(o);
  }
  for (const o of parsed.toSorted((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))) {
    const key = `${o.namespace}/${o.name}`;
    switch (o.kind) {
      case 'TrafficSplit': index.splits.push(o); break;
      case 'HTTPRouteGroup': index.routeGroups.set(key, o); break;
      case 'TCPRoute': index.tcpRoutes.set(key, o); break;
      case 'UDPRoute': index.udpRoutes.set(key, o); break;
      case 'TrafficTarget': index.targets.push(o); break;
    }
  }
  return index;
}

function isSmiDiagnosticKind(kind: string): kind is SmiObject['kind'] {
  return kind === 'TrafficSplit' || kind === 'HTTPRouteGroup' || kind === 'TCPRoute' || kind === 'UDPRoute' || kind === 'TrafficTarget';
}

/** Who runs a pod: by `namespace/name` and by address. */
export interface PodIndex {
  byName: Map<string, string>;
  byAddress: Map<string, { namespace: string; serviceAccount: string }>;
}

export function indexPods(pods: readonly PodObject[] | undefined): PodIndex {
  const byName = new Map<string, string>();
  const byAddress = new Map<string, { namespace: string; serviceAccount: string }>();
  for (const p of pods ?? []) {
    const name = p?.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    const namespace = p.metadata.namespace || 'default';
    const sa = serviceAccountOf(p);
    byName.set(`${namespace}/${name}`, sa);
    const addresses = [p.status?.podIP, ...(Array.isArray(p.status?.podIPs) ? p.status.podIPs.map((x) => x?.ip) : [])];
    for (const a of addresses) if (typeof a === 'string' && a !== '' && !byAddress.has(a)) byAddress.set(a, { namespace, serviceAccount: sa });
  }
  return { byName, byAddress };
}

/** `spec.serviceAccountName`, its deprecated alias `spec.serviceAccount`, or `default`. */
export function serviceAccountOf(p: PodObject): string {
  const s = p.spec;
  if (typeof s?.serviceAccountName === 'string' && s.serviceAccountName !== '') return s.serviceAccountName;
  if (typeof s?.serviceAccount === 'string' && s.serviceAccount !== '') return s.serviceAccount;
  return 'default';
}

