/**
 * The 429 a rate-limited request gets: Retry-After, the RateLimit-* fields, a short body (JSON
 * when the client asks for it) naming the service. An upgrade request gets the same as raw
 * HTTP/1.1 and its connection closed.
 */
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../../http/exchange.ts';
import { rawErrorResponse, wantsJson } from '../../http/error-page.ts';

const STATUS = 429;
const TITLE = 'Too Many Requests';

/** An HTTP/1 request whose body has not been read to its end. */
function bodyPending(req: IncomingMessage): boolean {
  if (req.complete || req.readableEnded) return false;
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * @param fields RateLimit-* header fields as a flat name/value list
 * @param limit  human description of the policy, e.g. `10 requests at once, 5 per second`
 */
export function tooManyRequests(ex: Exchange, retryAfter: number, fields: readonly string[], limit: string): void {
  const service = ex.route.id;
  const reason = `${service} is rate limited (${limit}); retry in ${retryAfter} s`;
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'retry-after': String(retryAfter) };
  for (let i = 0; i < fields.length; i += 2) headers[fields[i]!] = fields[i + 1]!;
  let body: string;
  if (wantsJson(ex.req.headers.accept)) {
    headers['content-type'] = 'application/json';
    body = `${JSON.stringify({ status: STATUS, error: TITLE, service, reason, retryAfter })}\n`;
  } else {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = `${STATUS} ${TITLE}: ${reason}\n`;
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  const res = ex.res;
  if (res !== undefined) {
    ex.prepareHead();
    // Unread request body: close after answering rather than read the rest of an upload.
    if (!ex.h2 && bodyPending(ex.req as IncomingMessage)) res.shouldKeepAlive = false;
    res.writeHead(STATUS, headers);
    if (ex.method === 'HEAD') res.end();
    else res.end(body);
  } else if (ex.socket !== undefined && ex.socket.writable) {
    ex.socket.end(rawErrorResponse({ status: STATUS, headers, body }));
  }
  ex.finish(STATUS);
}
