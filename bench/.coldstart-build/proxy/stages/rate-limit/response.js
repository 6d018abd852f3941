import { wantsJson } from '../../http/error-page.js';
const STATUS = 429;
const TITLE = 'Too Many Requests';
/**
 * @param fields RateLimit-* header fields as a flat name/value list
 * @param limit  human description of the policy, e.g. `10 requests at once, 5 per second`
 */
export function tooManyRequests(ex, retryAfter, fields, limit) {
    const service = ex.route.id;
    const reason = `${service} is rate limited (${limit}); retry in ${retryAfter} s`;
    const headers = { 'cache-control': 'no-store', 'retry-after': String(retryAfter) };
    for (let i = 0; i < fields.length; i += 2)
        headers[fields[i]] = fields[i + 1];
    let body;
    if (wantsJson(ex.req.headers.accept)) {
        headers['content-type'] = 'application/json';
        body = `${JSON.stringify({ status: STATUS, error: TITLE, service, reason, retryAfter })}\n`;
    }
    else {
        headers['content-type'] = 'text/plain; charset=utf-8';
        body = `${STATUS} ${TITLE}: ${reason}\n`;
    }
    headers['content-length'] = String(Buffer.byteLength(body));
    // Like every page the proxy writes: an unread upload closes the connection, upgrades get raw HTTP/1.1.
    ex.respond({ status: STATUS, headers, body });
}
