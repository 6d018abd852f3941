/**
 * Maintenance (`hostmesh.io/maintenance`): the route answers 503 with `Retry-After` and the
 * proxy's small page naming the Service and the reason (JSON when the client asks), without
 * contacting any backend. Both pages are written once per route; a changed annotation is a
 * changed route, so the page follows it live.
 */
import { servicePage, wantsJson } from '../http/error-page.ts';
import type { Stage } from './types.ts';

/** Translation writes `maintenance` for `"true"`; anything else is the operator's own words. */
export function maintenanceReason(reason: string): string {
  const r = reason.trim().replace(/[.\s]+$/, '');
  return r === '' || r.toLowerCase() === 'maintenance' ? 'is down for maintenance' : `is down for maintenance: ${r}`;
}

export const maintenance: Stage = (ctx, next) => {
  const route = ctx.route;
  const m = route.entry.maintenance;
  if (m === undefined) return next;
  const text = maintenanceReason(m.reason);
  const html = servicePage(503, route.id, undefined, text, undefined, route.retryAfterSeconds);
  const json = servicePage(503, route.id, undefined, text, 'application/json', route.retryAfterSeconds);
  return { handle: (ex) => ex.respond(wantsJson(ex.req.headers.accept) ? json : html), complete: next.complete };
};
