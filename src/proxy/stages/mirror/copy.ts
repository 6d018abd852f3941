/**
 * One copy of a request sent to a route's mirror Service, as an undici dispatch handler:
 * fire and forget. The response is read and thrown away; the copy counts as `sent` once the
 * mirror answers with a head, `failed` when it errs or times out before that. Whatever happens
 * it ends within `timeoutMs` and frees its in-flight slot.
 */
import type { Dispatcher } from 'undici';
import type { EndpointState } from '../../endpoints/endpoint.ts';
import type { Exchange } from '../../http/exchange.ts';
import { connectFailure } from '../../http/failures.ts';
import type { HttpCluster, Upstream } from '../../http/upstream.ts';
import type { MirrorStats } from '../../metrics.ts';
import type { PickHint } from '../../types.ts';

/** What all copies of one route share: counters and the in-flight count. */
export class MirrorTarget {
  readonly cluster: HttpCluster;
  readonly stats: MirrorStats;
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  inFlight = 0;

  constructor(cluster: HttpCluster, stats: MirrorStats, maxInFlight: number, timeoutMs: number) {
    this.cluster = cluster;
    this.stats = stats;
    this.maxInFlight = maxInFlight;
    this.timeoutMs = timeoutMs;
  }
}

class MirrorTimeout extends Error {}

/** Errors before a socket that say something about the endpoint (not ours, not a pool shutting down). */
function isDialError(err: Error): boolean {
  if (err instanceof MirrorTimeout) return false;
  const f = connectFailure(err);
  return f === 'dial' || f === 'dial-timeout';
}

function onTimeout(c: MirrorCopy): void {
  c.expire();
}

export class MirrorCopy implements Dispatcher.DispatchHandler {
  readonly #target: MirrorTarget;
  readonly #endpoint: EndpointState<Upstream>;
  readonly #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | undefined = undefined;
  #answered = false;
  #expired = false;
  #over = false;

  constructor(target: MirrorTarget, endpoint: EndpointState<Upstream>) {
    this.#target = target;
    this.#endpoint = endpoint;
    target.inFlight++;
    target.cluster.pool.acquire(endpoint);
    // Never keeps the process alive by itself; the copy's sockets do while they live.
    this.#timer = setTimeout(onTimeout, target.timeoutMs, this).unref();
  }

  onRequestStart(controller: Dispatcher.DispatchController, _context: unknown): void {
    this.#controller = controller;
    if (this.#expired) controller.abort(new MirrorTimeout('mirror copy timed out'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode < 200 || this.#answered) return;
    this.#answered = true;
    this.#target.stats.sent++;
    this.#target.cluster.pool.reportSuccess(this.#endpoint);
  }

  onResponseData(): void {
    // Discarded: undici keeps reading, so the mirror is never held up by us.
  }

  onResponseEnd(): void {
    this.#end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (!this.#answered) {
      this.#target.stats.failed++;
      // Never got a socket: a dial failure, which the mirror's passive health counts.
      if (this.#controller === undefined && isDialError(err)) this.#target.cluster.pool.reportFailure(this.#endpoint);
    }
    this.#end();
  }

  /** The copy took too long: abort it (now, or as soon as undici hands it a socket). */
  expire(): void {
    if (this.#over) return;
    this.#expired = true;
    const c = this.#controller;
    if (c !== undefined && !c.aborted) c.abort(new MirrorTimeout('mirror copy timed out'));
  }

  #end(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    this.#target.inFlight--;
    this.#target.cluster.pool.release(this.#endpoint);
  }
}

const NO_HINT: PickHint = {};

/** Sends the copy of a request whose body (if any) is held in `ex.body`, or counts it dropped. */
export function sendCopy(ex: Exchange, target: MirrorTarget): void {
  const stats = target.stats;
  if ((ex.hasBody && ex.body === undefined) || target.inFlight >= target.maxInFlight) {
    stats.dropped++;
    return;
  }
  const ep = target.cluster.pool.pick(NO_HINT);
  if (ep === undefined) {
    stats.dropped++;
    return;
  }
  const copy = new MirrorCopy(target, ep);
  try {
    target.cluster.link(ep).dispatch({
      path: ex.path ?? ex.req.url ?? '/',
      method: ex.method,
      headers: ex.backendHeaders(),
      body: ex.body ?? null,
      headersTimeout: 0,
      bodyTimeout: 0,
    }, copy);
  } catch {
    copy.onResponseError(null, new Error('mirror dispatch refused'));
  }
}
