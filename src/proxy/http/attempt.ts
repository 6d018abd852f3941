/**
 * One try of an HTTP request at one endpoint, as an undici dispatch handler.
 *
 * The attempt reports exactly once to its `done` callback: with a failure (before any response
 * byte reached the client) or with the backend's response head, which is held until the caller
 * commits it (stream to the client) or discards it (abort the backend request). Timeouts:
 * the dial timeout is the connection pool's; the read timeout (longest wait for the next byte
 * from the backend once the request is sent) and the write timeout (longest wait for the backend
 * to accept the next request body chunk) are kept here, because undici's own would also fire
 * while the *client* is the slow side.
 */
import type { Dispatcher } from 'undici';
import type { EndpointState } from '../endpoints/endpoint.ts';
import type { AttemptDone, Exchange, RouteBackend, UpstreamAttempt } from './exchange.ts';
import { connectFailure } from './failures.ts';
import type { Failure } from './failures.ts';
import { responseHeadersFlat, responseHeadersObject } from './headers.ts';
import type { Upstream } from './upstream.ts';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

const DIALING = 0;
const SENT = 1;
const HEAD = 2;
const COMMITTED = 3;
const OVER = 4;

class AttemptTimeout extends Error {
  readonly failure: Failure;
  constructor(failure: Failure) {
    super(failure);
    this.failure = failure;
  }
}

class Cancelled extends Error {}

export class HttpAttempt implements UpstreamAttempt, Dispatcher.DispatchHandler {
  readonly ex: Exchange;
  readonly backend: RouteBackend;
  readonly endpoint: EndpointState<Upstream>;
  failure: Failure | undefined = undefined;
  status = 0;
  headers: Headers | undefined = undefined;
  #done: AttemptDone;
  #state = DIALING;
  #controller: Controller | undefined = undefined;
  #readTimer: NodeJS.Timeout | undefined = undefined;
  #writeTimer: NodeJS.Timeout | undefined = undefined;
  #timedOut: Failure | undefined = undefined;
  #cancelled = false;
  #discarded = false;
  /** The backend failed while its head was held: a later commit answers with an error page. */
  #lostWhileHeld = false;
  #released = false;
  #onDrain: (() => void) | undefined = undefined;
  /** Body bytes or the end that arrived while the head was held (defensive: undici pauses). */
  #held: Buffer[] | undefined = undefined;
  #heldEnd: Headers | undefined = undefined;

  constructor(ex: Exchange, backend: RouteBackend, endpoint: EndpointState<Upstream>, done: AttemptDone) {
    this.ex = ex;
    this.backend = backend;
    this.endpoint = endpoint;
    this.#done = done;
    backend.cluster.pool.acquire(endpoint);
  }

  // --- undici handler -------------------------------------------------------------------

  onRequestStart(controller: Controller, _context: unknown): void {
    this.#controller = controller;
    if (this.#cancelled) {
      controller.abort(new Cancelled());
      return;
    }
    this.#state = SENT;
  }

  onRequestSent(): void {
    // From here the backend owes us an answer: the read timeout runs until the head arrives.
    if (this.#state === SENT) this.#armRead();
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, _statusMessage?: string): void {
    if (statusCode < 200 || this.#state >= HEAD) return;
    this.#state = HEAD;
    this.status = statusCode;
    this.headers = headers;
    this.backend.cluster.pool.reportSuccess(this.endpoint);
    this.#done(this.ex, this);
    // Nobody committed or discarded synchronously: hold the body until someone does.
    if (this.#state === HEAD) {
      this.#disarmRead();
      controller.pause();
    } else if (this.#state === COMMITTED) {
      this.#armRead();
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#state !== COMMITTED) {
      if (this.#state === HEAD) (this.#held ??= []).push(chunk);
      return;
    }
    if (this.#readTimer !== undefined) this.#readTimer.refresh();
    const res = this.ex.res!;
    this.ex.bytesOut += chunk.length;
    if (!res.write(chunk)) {
      // The client is slower than the backend: stop reading until it drains. The read timeout
      // does not run meanwhile, since it is not the backend we are waiting for.
      controller.pause();
      this.#disarmRead();
      this.#onDrain ??= () => this.#resume();
      res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    if (this.#state === HEAD) {
      this.#heldEnd = trailers ?? {};
      this.#clearTimers();
      return;
    }
    this.#end(trailers);
  }

  #end(trailers: Headers | undefined): void {
    const state = this.#state;
    this.#state = OVER;
    this.#clearTimers();
    this.#release();
    if (state !== COMMITTED) return;
    const res = this.ex.res!;
    if (trailers !== undefined && hasKeys(trailers)) res.addTrailers(trailers as Record<string, string>);
    res.end();
    this.ex.finish(this.status);
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    const state = this.#state;
    this.#state = OVER;
    this.#clearTimers();
    this.#release();
    if (this.#cancelled || err instanceof Cancelled) return;
    if (state === COMMITTED) {
      // The client already has the head: all we can do is cut its connection.
      this.ex.abort();
      return;
    }
    if (state === HEAD) {
      if (!this.#discarded) this.#lostWhileHeld = true;
      return;
    }
    const cluster = this.backend.cluster;
    if (err instanceof AttemptTimeout) this.failure = err.failure;
    else if (state === DIALING) {
      this.failure = connectFailure(err);
      if (this.failure === 'dial' || this.failure === 'dial-timeout') {
        cluster.pool.reportFailure(this.endpoint);
        this.backend.stats.connectErrors++;
        this.ex.route.log.debug({ route: this.ex.route.id, cluster: cluster.id, endpoint: this.endpoint.key, err: err.message }, 'backend dial failed');
      }
    } else {
      this.failure = this.#timedOut ?? 'reset';
    }
    this.#done(this.ex, this);
  }

  // --- what stages call -----------------------------------------------------------------

  /** Sends the held head to the client and streams the body after it. */
  commit(): void {
    if (this.#lostWhileHeld) {
      this.#lostWhileHeld = false;
      this.ex.fail('reset');
      return;
    }
    if (this.#state !== HEAD) return;
    const ex = this.ex;
    const res = ex.res!;
    this.#state = COMMITTED;
    ex.prepareHead();
    try {
      if (ex.h2) res.writeHead(this.status, responseHeadersObject(this.headers!, ex.extraHeaders));
      else res.writeHead(this.status, responseHeadersFlat(this.headers!, ex.extraHeaders));
    } catch (err) {
      // Node refuses what undici accepted (e.g. a control character in a header value).
      ex.route.log.debug({ route: ex.route.id, err: (err as Error).message }, 'backend response head refused');
      this.#cancelled = true;
      this.#abortUpstream(new Cancelled());
      this.#state = OVER;
      this.#clearTimers();
      this.#release();
      ex.fail('bad-response');
      return;
    }
    if (this.#held !== undefined) {
      for (const chunk of this.#held) {
        res.write(chunk);
        ex.bytesOut += chunk.length;
      }
      this.#held = undefined;
    }
    if (this.#heldEnd !== undefined) {
      this.#end(this.#heldEnd);
      return;
    }
    const c = this.#controller;
    if (c !== undefined && c.paused) {
      this.#armRead();
      c.resume();
    }
  }

  discard(): void {
    this.#lostWhileHeld = false;
    if (this.#state !== HEAD) return;
    this.#discarded = true;
    this.#held = undefined;
    if (this.#heldEnd !== undefined) {
      this.#state = OVER;
      this.#release();
      return;
    }
    this.#abortUpstream(new Cancelled());
  }

  cancel(): void {
    if (this.#state === OVER) return;
    this.#cancelled = true;
    if (this.#controller !== undefined) this.#abortUpstream(new Cancelled());
    // Still waiting for a connection: undici aborts it in onRequestStart; free the slot now.
    else this.#release();
  }

  // --- body and timers ------------------------------------------------------------------

  /** Called by the request body stream around each chunk handed to undici. */
  writeWaitStart(): void {
    const ms = this.backend.cluster.writeTimeoutMs;
    if (ms === undefined) return;
    if (this.#writeTimer !== undefined) this.#writeTimer.refresh();
    else this.#writeTimer = setTimeout(onWriteTimeout, ms, this);
  }

  writeWaitEnd(): void {
    if (this.#writeTimer !== undefined) {
      clearTimeout(this.#writeTimer);
      this.#writeTimer = undefined;
    }
  }

  timeout(failure: Failure): void {
    if (this.#state === OVER || this.#state === HEAD) return;
    this.#timedOut = failure;
    this.#abortUpstream(new AttemptTimeout(failure));
  }

  #abortUpstream(err: Error): void {
    const c = this.#controller;
    if (c !== undefined && !c.aborted) c.abort(err);
  }

  #resume(): void {
    const c = this.#controller;
    if (this.#state === COMMITTED && c !== undefined) {
      this.#armRead();
      c.resume();
    }
  }

  #armRead(): void {
    const ms = this.backend.cluster.readTimeoutMs;
    if (ms === undefined) return;
    if (this.#readTimer !== undefined) this.#readTimer.refresh();
    else this.#readTimer = setTimeout(onReadTimeout, ms, this);
  }

  #disarmRead(): void {
    if (this.#readTimer !== undefined) {
      clearTimeout(this.#readTimer);
      this.#readTimer = undefined;
    }
  }

  #clearTimers(): void {
    this.#disarmRead();
    this.writeWaitEnd();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.backend.cluster.pool.release(this.endpoint);
  }
}

function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

function onReadTimeout(a: HttpAttempt): void {
  a.timeout('read-timeout');
}

function onWriteTimeout(a: HttpAttempt): void {
  a.timeout('write-timeout');
}
