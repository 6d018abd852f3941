/**
 * Holds small request bodies in memory when a later stage must send them more than once: the
 * retry stage (the request matched `retry-on`) and the mirror (the request was sampled). This
 * stage makes both per-request decisions, so the body is read at most once.
 *
 * A body up to `replayBodyBytes` becomes `ex.body`, which every attempt and the mirror copy can
 * send. A larger one (by Content-Length, or found larger while reading) streams as usual: what
 * was read is put back in front of the stream, so neither the client nor the backend waits for
 * more than the limit, and such a request is neither retried after it was sent nor mirrored.
 */
import type { IncomingMessage } from 'node:http';
import type { Exchange, HttpRoute } from '../http/exchange.ts';
import type { ProxyLimits } from '../limits.ts';
import { headersOf } from './forward.ts';
import { mirrorSampler } from './mirror.ts';
import { retryOnMatcher } from './retry-match.ts';
import type { Handler } from './types.ts';

export type ReplayLimits = Pick<ProxyLimits, 'replayBodyBytes'>;

const READER = Symbol('hostmesh.replayBody');

/** One body being read; found through the request stream (listeners are shared functions). */
class BodyRead {
  readonly ex: Exchange;
  readonly next: Handler;
  readonly max: number;
  readonly chunks: Buffer[] = [];
  size = 0;

  constructor(ex: Exchange, next: Handler, max: number) {
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
  return r;
}

function onData(this: Tagged, chunk: Buffer): void {
  const r = this[READER];
  if (r === undefined) return;
  r.chunks.push(chunk);
  r.size += chunk.length;
  if (r.size <= r.max) return;
  // Too large to hold: give back what was read, in order, and let the body stream.
  this.pause();
  detach(this);
  this.unshift(r.chunks.length === 1 ? r.chunks[0]! : Buffer.concat(r.chunks, r.size));
  if (!r.ex.done) r.next(r.ex);
}

function onEnd(this: Tagged): void {
  const r = detach(this);
  if (r === undefined) return;
  r.ex.body = r.chunks.length === 1 ? r.chunks[0]! : Buffer.concat(r.chunks, r.size);
  if (!r.ex.done) r.next(r.ex);
}

function onError(this: Tagged): void {
  // The client went away mid-body: the response's close already ended the exchange.
  detach(this);
}

/** The declared body length, or -1 when unknown (chunked, or HTTP/2 without the header). */
function declaredLength(ex: Exchange): number {
  const v = ex.req.headers['content-length'];
  if (v === undefined) return -1;
  const n = Number(v);
  return Number.isFinite(n) ? n : -1;
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
    if (!ex.hasBody || declaredLength(ex) > max) {
      next(ex);
      return;
    }
    const req = ex.req as Tagged;
    req[READER] = new BodyRead(ex, next, max);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}
