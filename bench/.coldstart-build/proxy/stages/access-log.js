/**
 * Access logging: notes the client address while it is known (an HTTP/2 stream forgets it once
 * closed) and writes the line when the exchange completes (src/proxy/access-log.ts formats it).
 * An upgrade's tunnel is logged when it closes instead (http/relay.ts). Without an access log
 * the stage is not in the chain at all.
 */
import { clientAddress } from '../http/headers.js';
export const accessLog = (ctx, next) => {
    const log = ctx.route.accessLog;
    if (log === undefined)
        return next;
    const { handle, complete } = next;
    return {
        handle: (ex) => {
            ex.client = clientAddress(ex.req.socket.remoteAddress);
            handle(ex);
        },
        complete: (ex, status, now) => {
            complete(ex, status, now);
            if (!ex.logAtTunnelEnd)
                log.record(ex);
        },
    };
};
