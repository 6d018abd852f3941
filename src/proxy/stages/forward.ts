/**
 * The last attempt stage: sends the request to the picked endpoint. Plain requests go through
 * the endpoint's undici pool (HttpAttempt); upgrade requests get a raw relay (RelayAttempt).
 */
import type { Readable } from 'node:stream';
import { HttpAttempt } from '../http/attempt.ts';
import { streamBody } from '../http/body.ts';
import type { Exchange } from '../http/exchange.ts';
import { clientAddress, requestHeaders } from '../http/headers.ts';
import { RelayAttempt } from '../http/relay.ts';
import type { AttemptDone } from '../http/exchange.ts';
import type { HttpRoute } from '../http/exchange.ts';
import type { AttemptHandler } from './types.ts';

export interface ForwardOptions {
  /** Largest backend response head accepted on an upgrade relay, in bytes. */
  maxHeaderSize: number;
}

/** The backend request headers, built once per request; also learns whether a body follows. */
export function headersOf(ex: Exchange): string[] {
  let h = ex.upstreamHeaders;
  if (h === undefined) {
    h = requestHeaders(ex.req.rawHeaders, clientAddress(ex.req.socket.remoteAddress), ex);
    // HTTP/2: a body follows unless the HEADERS frame ended the stream.
    if (ex.h2) ex.hasBody = !(ex.req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
    ex.upstreamHeaders = h;
  }
  return h;
}

function relayHead(ex: Exchange): string {
  const h = headersOf(ex);
  let head = `${ex.method} ${ex.req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  const upgrade = ex.req.headers.upgrade;
  if (upgrade !== undefined) head += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  return `${head}\r\n`;
}

export function forward(_route: HttpRoute, opts: ForwardOptions): AttemptHandler {
  return (ex: Exchange, done: AttemptDone) => {
    const backend = ex.backend!;
    const ep = ex.endpoint!;
    ex.attempts++;
    if (ex.socket !== undefined) {
      const relay = new RelayAttempt(ex, backend, ep, done, opts.maxHeaderSize);
      ex.attempt = relay;
      relay.start(relayHead(ex));
      return;
    }
    const attempt = new HttpAttempt(ex, backend, ep, done);
    ex.attempt = attempt;
    const headers = headersOf(ex);
    let body: Buffer | AsyncGenerator<Buffer> | null = null;
    if (ex.body !== undefined) body = ex.body;
    else if (ex.hasBody) {
      if (ex.bodyTaken) {
        // The streamed body went to an earlier attempt and cannot be sent twice.
        attempt.onResponseError(null, Object.assign(new Error('request body already sent'), { code: 'UND_ERR_NOT_SUPPORTED' }));
        return;
      }
      ex.bodyTaken = true;
      body = streamBody(attempt, ex.req as Readable);
    }
    backend.cluster.link(ep).dispatch({
      path: ex.req.url ?? '/',
      method: ex.method,
      headers,
      // undici sends async iterables (documented behaviour) though its types list only streams.
      body: body as Buffer | Readable | null,
      headersTimeout: 0,
      bodyTimeout: 0,
    }, attempt);
  };
}
