import { randomUUID } from 'node:crypto';
import { resourcesDigest } from './resources.js';
import { TABLE_FORMAT } from './types.js';
/** A table that routes nothing: what a proxy holds before its first snapshot. */
export function emptyTable(epoch = randomUUID(), version = 0) {
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
 * skip publishing it and a proxy can skip re-applying it. It is the sum of one hash per
 * resource (src/table/resources.ts), so a delta updates it without rehashing the table.
 */
export function tableDigest(table) {
    return resourcesDigest(table);
}
