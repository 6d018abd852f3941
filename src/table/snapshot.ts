import { createHash, randomUUID } from 'node:crypto';
import { TABLE_FORMAT } from './types.ts';
import type { RoutingTable } from './types.ts';

/** A table that routes nothing: what a proxy holds before its first snapshot. */
export function emptyTable(epoch: string = randomUUID(), version = 0): RoutingTable {
  return {
    format: TABLE_FORMAT,
    epoch,
    version,
    generatedAt: new Date(0).toISOString(),
    dns: { zones: ['hostmesh'], ttl: 5, services: [] },
    listeners: [],
    routes: [],
    clusters: [],
  };
}

/**
 * Hash of what a table routes, ignoring its version and timestamps, so a controller that
 * rebuilds an identical table (after a restart, or for an event that changed nothing) can
 * skip publishing it and a proxy can skip re-applying it.
 */
export function tableDigest(table: RoutingTable): string {
  const { dns, listeners, routes, clusters } = table;
  return createHash('sha256').update(JSON.stringify({ dns, listeners, routes, clusters })).digest('hex').slice(0, 32);
}
