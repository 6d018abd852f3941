/**
 * Maintenance (`hostmesh.io/maintenance`): the route answers 503 with `Retry-After` and the
 * proxy's small page naming the Service and the reason (JSON when the client asks), without
 * contacting any backend. Both pages are written once per route; a changed annotation is a
 * changed route, so the page follows it live.
 */
import { maintenanceText } from '../../table/index.js';
import { servicePage, wantsJson } from '../http/error-page.js';
export const maintenance = (ctx, next) => {
    const route = ctx.route;
    const m = route.entry.maintenance;
    if (m === undefined)
        return next;
    const text = maintenanceText(m.reason);
    const html = servicePage(503, route.id, undefined, text, undefined, route.retryAfterSeconds);
    const json = servicePage(503, route.id, undefined, text, 'application/json', route.retryAfterSeconds);
    return { handle: (ex) => ex.respond(wantsJson(ex.req.headers.accept) ? json : html), complete: next.complete };
};
