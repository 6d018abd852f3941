/**
 * Keeps a copy of small request bodies when a later stage must send them more than once: the
 * retry stage (the request matched `retry-on`) and the mirror (the request was sampled). This
 * stage makes both per-request decisions, so a body is read once. Bodies up to
 * `replayBodyBytes` become `ex.body`, which any attempt and the mirror copy can send:
 *
 * - a body of declared length (Content-Length) within the limit is read whole before the first
 *   attempt, so a retry can always send it again (the HTTP/1 parser and HTTP/2 both end a
 *   request at its declared length, so this never holds more);
 * - a body of unknown length (chunked, HTTP/2 without Content-Length, e.g. gRPC) is copied
 *   while it streams to the first attempt, never held up (a streaming RPC may wait for answers
 *   before sending more); it becomes `ex.body` once it ends within the limit, and a failure
 *   after that can be retried;
 * - anything larger streams as usual, and the copy of a body that outgrows the limit is
 *   dropped. Such a request is neither retried after it was sent nor mirrored.
 */
import type { IncomingMessage } from 'node:http';
import type { Exchange, HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import { headersOf } from './forward.ts';
import { mirrorSampler, sendCopy } from './mirror/copy.ts';
import type { MirrorTarget } from './mirror/copy.ts';
import { retryOnMatcher } from './retry-match.ts';
import type { Handler } from './types.ts';

export type ReplayLimits = Pick<ProxyLimits, 'replayBodyBytes'>;

const READER = Symbol('hostmesh.replayBody');

/** One body being held or copied; found through the request stream (listeners are shared functions). */
class BodyRead {
  readonly ex: Exchange;
  /** Held: the stage waits for the body and continues with `next`; else copied on the fly. */
  readonly next: Handler | undefined;
  readonly max: number;
  readonly chunks: Buffer[] = [];
  size = 0;
  /** A mirror copy waiting for the body to end. */
  mirror: MirrorTarget | undefined = undefined;

  constructor(ex: Exchange, next: Handler | undefined, max: number) {
    this.ex = ex;
    this.next = next;
    this.max = max;
  }
}

type Tagged = IncomingMessage & { [READER]?: BodyRead };

function detach(req: Tagged): BodyRead | undefined {
  const r = req[READER];
  req[READER] = undefined;
  req.removeListener('data', onData);
  req.removeListener('end', onEnd);
  req.removeListener('error', onError);
  req.removeListener('readable', keepPaused);
  return r;
}

/**
 * Keeps an HTTP/2 request out of flowing mode, so the 'data' listener beside it sees exactly
 * the chunks the attempt reads. (HTTP/1 requests are paused instead, which the server undoes
 * when it discards an unread body; an HTTP/2 request paused before its first read never reads.)
 */
function keepPaused(): void {}

function onData(this: Tagged, chunk: Buffer): void {
  const r = this[READER];
  if (r === undefined) return;
  r.chunks.push(chunk);
  r.size += chunk.length;
  if (r.size <= r.max) return;
  // Only a copy taken on the fly can outgrow the limit: give it up and let the body stream.
  detach(this);
  if (r.mirror !== undefined) r.mirror.stats.dropped++;
}

function onEnd(this: Tagged): void {
  const r = detach(this);
  if (r === undefined) return;
  const ex = r.ex;
  if (ex.done) {
    // Answered before the body ended (perhaps unread and discarded by the server): the copy
    // cannot be trusted to be whole.
    if (r.mirror !== undefined) r.mirror.stats.dropped++;
    return;
  }
  ex.body = r.chunks.length === 1 ? r.chunks[0]! : Buffer.concat(r.chunks, r.size);
  if (r.mirror !== undefined) sendCopy(ex, r.mirror);
  if (r.next !== undefined) r.next(ex);
}

function onError(this: Tagged): void {
  // The client went away mid-body: the response's close already ended the exchange.
  const r = detach(this);
  if (r?.mirror !== undefined) r.mirror.stats.dropped++;
}

/** The declared body length, or -1 when unknown (chunked, or HTTP/2 without the header). */
function declaredLength(ex: Exchange): number {
  const v = ex.req.headers['content-length'];
  if (v === undefined) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/**
 * For the mirror stage: when this request's body is still being copied, the mirror copy is sent
 * once it ends (or counted dropped if it outgrows the limit) and this returns true.
 */
export function mirrorWhenComplete(ex: Exchange, target: MirrorTarget): boolean {
  const r = (ex.req as Tagged)[READER];
  if (r === undefined || r.ex !== ex) return false;
  r.mirror = target;
  return true;
}

export function replayBody(route: HttpRoute, next: Handler, limits: ReplayLimits): Handler {
  const retryOn = route.entry.retry !== undefined ? retryOnMatcher(route, route.entry.retry.on) : undefined;
  const sample = mirrorSampler(route);
  if (retryOn === undefined && sample === undefined) return next;
  const max = limits.replayBodyBytes;
  return (ex) => {
    // Upgrades (WebSocket) are neither retried after they were sent nor mirrored.
    if (ex.socket !== undefined) {
      next(ex);
      return;
    }
    if (retryOn !== undefined) ex.retryOn = retryOn(ex);
    if (sample !== undefined) ex.mirrored = sample();
    if (!ex.retryOn && !ex.mirrored) {
      next(ex);
      return;
    }
    headersOf(ex);
    const declared = declaredLength(ex);
    if (!ex.hasBody || declared > max) {
      next(ex);
      return;
    }
    const req = ex.req as Tagged;
    const held = declared >= 0;
    req[READER] = new BodyRead(ex, held ? next : undefined, max);
    if (!held) {
      if (ex.h2) req.on('readable', keepPaused);
      else req.pause();
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    if (!held) next(ex);
  };
}
