/**
 * The replay buffer: keeps a copy of a small request body when it must be sent more than once.
 * Not a stage: the retry stage asks for it when a request matched `retry-on`, the mirror when
 * it sampled a request; the body is read once however many ask. Bodies up to `replayBodyBytes`
 * become `ex.body`, which any attempt and the mirror copy can send:
 *
 * - a body of declared length (Content-Length) within the limit is read whole before the request
 *   goes on, so a retry can always send it again (the HTTP/1 parser and HTTP/2 both end a
 *   request at its declared length, so this never holds more);
 * - a body of unknown length (chunked, HTTP/2 without Content-Length, e.g. gRPC) is copied
 *   while it streams to the first attempt, never held up (a streaming RPC may wait for answers
 *   before sending more); it becomes `ex.body` once it ends within the limit, and a failure
 *   after that can be retried;
 * - anything larger streams as usual, and the copy of a body that outgrows the limit is
 *   dropped. Such a request is neither retried after it was sent nor mirrored.
 */
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../http/exchange.ts';
import { httpBodyTimeoutMs } from '../http/timeouts.ts';
import type { Handler } from './types.ts';

/** Told once whether the whole body is in `ex.body` (true; also for a request without one) or never will be. */
export type BodyKept = (ex: Exchange, kept: boolean) => void;

const READER = Symbol('hostmesh.replayBuffer');

/** One body being held or copied; found through the request stream (listeners are shared functions). */
class BodyRead {
  readonly ex: Exchange;
  /** Held: the request waits for the body and continues with `next`; else copied on the fly. */
  readonly next: Handler | undefined;
  readonly max: number;
  readonly chunks: Buffer[] = [];
  size = 0;
  /** Waiting for the body to end (a mirror copy). */
  kept: BodyKept | undefined;
  /** A held body is read under the body timeout, as a streamed one is (restarts per chunk). */
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(ex: Exchange, next: Handler | undefined, max: number, kept: BodyKept | undefined) {
    this.ex = ex;
    this.next = next;
    this.max = max;
    this.kept = kept;
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
  if (r?.timer !== undefined) clearTimeout(r.timer);
  return r;
}

/** The client stopped sending a held body: 408, as for a body streaming to a backend. */
function onBodyTimeout(req: Tagged): void {
  const r = detach(req);
  if (r === undefined) return;
  r.kept?.(r.ex, false);
  r.ex.fail('body-timeout');
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
  r.timer?.refresh();
  if (r.size <= r.max) return;
  // Only a copy taken on the fly can outgrow the limit: give it up and let the body stream.
  detach(this);
  r.kept?.(r.ex, false);
}

function onEnd(this: Tagged): void {
  const r = detach(this);
  if (r === undefined) return;
  const ex = r.ex;
  if (ex.done) {
    // Answered before the body ended (perhaps unread and discarded by the server): the copy
    // cannot be trusted to be whole.
    r.kept?.(ex, false);
    return;
  }
  ex.body = r.chunks.length === 1 ? r.chunks[0]! : Buffer.concat(r.chunks, r.size);
  r.kept?.(ex, true);
  if (r.next !== undefined) r.next(ex);
}

function onError(this: Tagged): void {
  // The client went away mid-body: the response's close already ended the exchange.
  const r = detach(this);
  if (r !== undefined) r.kept?.(r.ex, false);
}

/** The declared body length, or -1 when unknown (chunked, or HTTP/2 without the header). */
function declaredLength(ex: Exchange): number {
  const v = ex.req.headers['content-length'];
  if (v === undefined) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/**
 * Keeps the body of `ex` (up to `max` bytes) and continues with `next`: at once, or once a held
 * body was read. `kept`, when given, is told whether the whole body ends up in `ex.body`.
 * Upgrades keep nothing. Asking again for a body already kept or being kept just continues.
 */
export function keepBody(ex: Exchange, max: number, next: Handler, kept?: BodyKept): void {
  if (ex.socket !== undefined) {
    kept?.(ex, false);
    next(ex);
    return;
  }
  const req = ex.req as Tagged;
  const reading = req[READER];
  if (ex.body !== undefined || (reading !== undefined && reading.ex === ex)) {
    if (kept !== undefined) {
      if (ex.body !== undefined) kept(ex, true);
      else reading!.kept = kept;
    }
    next(ex);
    return;
  }
  ex.backendHeaders();
  const declared = declaredLength(ex);
  if (!ex.hasBody || declared > max) {
    kept?.(ex, !ex.hasBody);
    next(ex);
    return;
  }
  const held = declared >= 0;
  const read = new BodyRead(ex, held ? next : undefined, max, kept);
  req[READER] = read;
  if (held) {
    // Before any attempt exists: the body timeout of the backend chosen, else the route's first.
    const timeout = httpBodyTimeoutMs((ex.backend ?? ex.route.backends[0])?.cluster.entry.bodyTimeoutMs);
    if (timeout !== undefined) read.timer = setTimeout(onBodyTimeout, timeout, req);
  }
  if (!held) {
    if (ex.h2) req.on('readable', keepPaused);
    else req.pause();
  }
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  if (!held) next(ex);
}
