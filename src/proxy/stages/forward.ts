/**
 * The last attempt stage: sends the request to the picked endpoint. Plain requests go through
 * the endpoint's undici pool (HttpAttempt); upgrade requests get a raw relay (RelayAttempt).
 */
import type { Readable } from 'node:stream';
import { HttpAttempt } from '../http/attempt.ts';
import { streamBody } from '../http/body.ts';
import type { AttemptDone, Exchange } from '../http/exchange.ts';
import { RelayAttempt } from '../http/relay.ts';
import { FailedAttempt } from './failed-attempt.ts';
import type { AttemptStage } from './types.ts';

/** The streamed body went to an earlier attempt and cannot be sent twice. */
const BODY_ALREADY_SENT = new FailedAttempt('bad-request');

function relayHead(ex: Exchange): string {
  const h = ex.backendHeaders();
  let head = `${ex.method} ${ex.path ?? ex.req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  const upgrade = ex.req.headers.upgrade;
  if (upgrade !== undefined) head += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  return `${head}\r\n`;
}

/** An HTTP/2 request's `content-length` (the session checked its syntax), or -1. */
function declaredLength(ex: Exchange): number {
  const v = ex.req.headers['content-length'];
  return typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : -1;
}

/** The last attempt stage: `next` is never called. */
export const forward: AttemptStage = (ctx) => {
  const maxHeaderSize = ctx.maxHeaderSize;
  return (ex: Exchange, done: AttemptDone) => {
    const backend = ex.backend!;
    const ep = ex.endpoint!;
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
    let body: Buffer | AsyncGenerator<Buffer> | null = null;
    if (ex.body !== undefined) body = ex.body;
    else if (ex.hasBody) {
      ex.bodyTaken = true;
      body = streamBody(attempt, ex.req as Readable, ex.h2 ? declaredLength(ex) : -1);
    }
    attempt.send(backend.cluster.link(ep), {
      path: ex.path ?? ex.req.url ?? '/',
      method: ex.method,
      headers,
      // undici sends async iterables (documented behaviour) though its types list only streams.
      body: body as Buffer | Readable | null,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  };
};
