/**
 * Proxy port allocation: each routed (Service, port) gets one port from a range and keeps it
 * for as long as it exists, so listeners and shadow Services never move under live traffic.
 */
import { parsePortId } from '../../table/index.ts';
import type { PortId } from '../../table/index.ts';

export interface PortAllocation {
  /** Allocations after this call: existing ones kept, new ones added, freed ones gone. */
  ports: Map<PortId, number>;
  /** Wanted ids that got no port because the range is full (sorted). */
  unallocated: PortId[];
}

/**
 * Existing allocations inside the range are kept; new ids (in sorted order, so the result is
 * deterministic) get the lowest free port. A port freed by this very call is handed out again
 * only when nothing else is free (its listener is still draining on the proxies), and never
 * when `reuseFreed` is false (port quarantine: the Translator keeps it out for a while).
 */
export function allocatePorts(
  wanted: Iterable<PortId>,
  existing: ReadonlyMap<PortId, number>,
  range: readonly [number, number],
  reserved: ReadonlySet<number> = new Set(),
  reuseFreed = true,
): PortAllocation {
  const from = Math.max(1, Math.ceil(range[0]));
  const to = Math.min(65535, Math.floor(range[1]));
  // Reserved ports (held by another process, or by our own admin/DNS servers) are never handed out.
  const inRange = (p: number | undefined): p is number => Number.isInteger(p) && p! >= from && p! <= to && !reserved.has(p!);
  const kept = keepAll(wanted, existing, inRange);
  if (kept !== undefined) return { ports: kept, unallocated: [] };
  const ids = sortedIds(wanted);

  const ports = new Map<PortId, number>();
  const taken = new Set<number>();
  const fresh: PortId[] = [];
  for (const id of ids) {
    const p = existing.get(id);
    if (inRange(p) && !taken.has(p)) {
      ports.set(id, p);
      taken.add(p);
    } else fresh.push(id);
  }
  const freed = [...new Set(existing.values())].filter((p) => inRange(p) && !taken.has(p)).toSorted((a, b) => a - b);
  const freedSet = new Set(freed);

  const unallocated: PortId[] = [];
  let cursor = from;
  let freedIndex = 0;
  for (const id of fresh) {
    while (cursor <= to && (taken.has(cursor) || freedSet.has(cursor) || reserved.has(cursor))) cursor++;
    let port: number | undefined;
    if (cursor <= to) port = cursor++;
    else if (reuseFreed && freedIndex < freed.length) port = freed[freedIndex++];
    if (port === undefined) {
      unallocated.push(id);
      continue;
    }
    ports.set(id, port);
    taken.add(port);
  }
  return { ports, unallocated };
}

/**
 * The common case, without sorting: every wanted id keeps its own port and no two share one,
 * so nothing is handed out and the result does not depend on the order. Undefined otherwise.
 */
function keepAll(wanted: Iterable<PortId>, existing: ReadonlyMap<PortId, number>, inRange: (p: number | undefined) => p is number): Map<PortId, number> | undefined {
  const ports = new Map<PortId, number>();
  const taken = new Set<number>();
  for (const id of wanted) {
    if (ports.has(id)) continue;
    const p = existing.get(id);
    if (!inRange(p) || taken.has(p)) return undefined;
    ports.set(id, p);
    taken.add(p);
  }
  // Nothing freed either: the same allocation, so callers can tell by identity that no port moved.
  return ports.size === existing.size && existing instanceof Map ? existing : ports;
}

/** Unique ids by namespace, name, then port number (`:80` before `:443`); malformed ids sort as text, last. */
function sortedIds(wanted: Iterable<PortId>): PortId[] {
  const keyed = [...new Set(wanted)].map((id) => ({ id, parsed: parsePortId(id) }));
  const text = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  keyed.sort((a, b) => {
    const pa = a.parsed;
    const pb = b.parsed;
    if (pa && pb) return text(pa.namespace, pb.namespace) || text(pa.name, pb.name) || pa.port - pb.port;
    return pa ? -1 : pb ? 1 : text(a.id, b.id);
  });
  return keyed.map((k) => k.id);
}
