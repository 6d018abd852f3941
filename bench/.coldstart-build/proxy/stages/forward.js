import { HttpAttempt } from '../http/attempt.js';
import { streamBody } from '../http/body.js';
import { RelayAttempt } from '../http/relay.js';
import { FailedAttempt } from './failed-attempt.js';
/** The streamed body went to an earlier attempt and cannot be sent twice. */
const BODY_ALREADY_SENT = new FailedAttempt('bad-request');
function relayHead(ex) {
    const h = ex.backendHeaders();
    let head = `${ex.method} ${ex.req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < h.length; i += 2)
        head += `${h[i]}: ${h[i + 1]}\r\n`;
    const upgrade = ex.req.headers.upgrade;
    if (upgrade !== undefined)
        head += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
    return `${head}\r\n`;
}
/** The last attempt stage: `next` is never called. */
export const forward = (ctx) => {
    const maxHeaderSize = ctx.maxHeaderSize;
    return (ex, done) => {
        const backend = ex.backend;
        const ep = ex.endpoint;
        ex.attempts++;
        if (ex.socket !== undefined) {
            const relay = new RelayAttempt(ex, backend, ep, done, maxHeaderSize);
            ex.attempt = relay;
            relay.start(relayHead(ex));
            return;
        }
        const headers = ex.backendHeaders();
        if (ex.hasBody && ex.body === undefined && ex.bodyTaken) {
            done(ex, BODY_ALREADY_SENT);
            return;
        }
        const attempt = new HttpAttempt(ex, backend, ep, done);
        ex.attempt = attempt;
        let body = null;
        if (ex.body !== undefined)
            body = ex.body;
        else if (ex.hasBody) {
            ex.bodyTaken = true;
            body = streamBody(attempt, ex.req);
        }
        attempt.send(backend.cluster.link(ep), {
            path: ex.req.url ?? '/',
            method: ex.method,
            headers,
            // undici sends async iterables (documented behaviour) though its types list only streams.
            body: body,
            headersTimeout: 0,
            bodyTimeout: 0,
        });
    };
};
