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
import { arm, disarm } from './coarse-timer.ts';
import type { Deadline } from './coarse-timer.ts';
import { connectFailure } from './failures.ts';
import type { Failure } from './failures.ts';
import { rawHeader, responseHeadersFlat, responseHeadersObject } from './headers.ts';
import { httpBodyTimeoutMs, httpReadTimeoutMs } from './timeouts.ts';
import { freshConnection } from './upstream.ts';
import type { Upstream } from './upstream.ts';

/** Methods RFC 9110 calls idempotent: sending one twice has the effect of sending it once. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

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

export class HttpAttempt implements UpstreamAttempt, Dispatcher.DispatchHandler, Deadline {
  readonly ex: Exchange;
  readonly backend: RouteBackend;
  readonly endpoint: EndpointState<Upstream>;
  failure: Failure | undefined = undefined;
  status = 0;
  headers: Headers | undefined = undefined;
  #done: AttemptDone;
  #state = DIALING;
  #controller: Controller | undefined = undefined;
  /** The read timeout's deadline (coarse-timer.ts); 0 while it does not run. */
  at = 0;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  /** The read timeout, once looked up. */
  #readMs: number | undefined = undefined;
  #writeTimer: NodeJS.Timeout | undefined = undefined;
  #timedOut: Failure | undefined = undefined;
  #cancelled = false;
  #discarded = false;
  /** The backend failed while its head was held: a later commit answers with an error page. */
  #lostWhileHeld = false;
  #released = false;
  #onDrain: (() => void) | undefined = undefined;
  /** Committed, but the head not yet written: it goes with the first body byte or the end. */
  #headPending = false;
  /** What was dispatched, kept to send it once more on a fresh connection (see #retryFresh). */
  #request: Dispatcher.DispatchOptions | undefined = undefined;
  #freshTried = false;
  #bodyTimer: NodeJS.Timeout | undefined = undefined;
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

  /** Sends the request through `upstream` (the endpoint's pool). */
  send(upstream: Upstream, request: Dispatcher.DispatchOptions): void {
    this.#request = request;
    upstream.dispatch(request, this);
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
    if (this.at !== 0) arm(this, this.#readMs!);
    if (this.#headPending && !this.#writeHead()) return;
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
    if (this.#headPending && !this.#writeHead()) return;
    const res = this.ex.res!;
    if (trailers !== undefined && hasKeys(trailers)) res.addTrailers(trailers as Record<string, string>);
    res.end();
    this.ex.finish(this.status);
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    const state = this.#state;
    if (state < HEAD && !this.#cancelled && this.#retryFresh(err)) return;
    this.#state = OVER;
    this.#clearTimers();
    this.#release();
    if (this.#cancelled || err instanceof Cancelled) return;
    if (state === COMMITTED && this.#headPending) {
      // The head was valid but what followed at once was not (a bad chunk, a cut): nothing
      // reached the client yet, so it gets a proper error page rather than an empty reply.
      this.#headPending = false;
      this.ex.fail(err instanceof AttemptTimeout ? err.failure : 'bad-response');
      return;
    }
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
    if (this.#held === undefined && this.#heldEnd === undefined) {
      // The head is written with the first body byte or the end (Node sends an HTTP/1 head
      // with the first write anyway), so an error undici finds in the bytes right behind the
      // head still gets an error page. HTTP/2 sends HEADERS at once: there it waits one turn
      // of the event loop at most.
      this.#headPending = true;
      if (ex.h2) setImmediate(flushHead, this);
    } else if (!this.#writeHead()) return;
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

  /** Writes the committed head; false when Node refused it (the client got an error page). */
  #writeHead(): boolean {
    this.#headPending = false;
    const ex = this.ex;
    const res = ex.res!;
    ex.prepareHead();
    try {
      if (ex.h2) res.writeHead(this.status, responseHeadersObject(this.headers!, ex.extraHeaders));
      else res.writeHead(this.status, responseHeadersFlat(this.headers!, ex.extraHeaders));
      return true;
    } catch (err) {
      // Node refuses what undici accepted (e.g. a control character in a header value).
      ex.route.log.debug({ route: ex.route.id, err: (err as Error).message }, 'backend response head refused');
      this.#cancelled = true;
      this.#abortUpstream(new Cancelled());
      this.#state = OVER;
      this.#clearTimers();
      this.#release();
      ex.fail('bad-response');
      return false;
    }
  }

  /** @internal The deferred head, on the next turn of the event loop. */
  flushHead(): void {
    if (this.#headPending && this.#state === COMMITTED && !this.ex.done) this.#writeHead();
  }

  /**
   * A connection taken from the pool failed before any response byte: the backend most likely
   * closed it while idle, as the request went out (a keep-alive race, not the backend
   * failing). The request is sent once more, on a new connection, when it can be sent again
   * unchanged (no body, or one held in memory) and repeating it is safe (an idempotent method,
   * or an Idempotency-Key), whatever the route's retry settings say.
   */
  #retryFresh(err: Error): boolean {
    const request = this.#request;
    if (this.#freshTried || request === undefined || err instanceof AttemptTimeout || err instanceof Cancelled) return false;
    const code = (err as { code?: string }).code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') return false;
    // Bytes read earlier on this socket mean it served earlier responses: it was reused.
    const socket = (err as { socket?: { bytesRead?: number } }).socket;
    if (socket === undefined || !((socket.bytesRead ?? 0) > 0)) return false;
    if (request.body !== null && request.body !== undefined && !Buffer.isBuffer(request.body)) return false;
    if (!IDEMPOTENT.has(this.ex.method) && rawHeader(this.ex.req.rawHeaders, 'idempotency-key') === undefined) return false;
    const fresh = freshConnection(this.backend.cluster.link(this.endpoint));
    if (fresh === undefined) return false;
    this.#freshTried = true;
    this.#clearTimers();
    this.#state = DIALING;
    this.#controller = undefined;
    this.ex.route.log.debug({ route: this.ex.route.id, endpoint: this.endpoint.key, err: err.message }, 'reused backend connection failed; sending again on a new one');
    fresh.dispatch(request, this);
    fresh.close().catch(() => {});
    return true;
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

  /** Called by the request body stream while it waits for the client's next chunk. */
  bodyWaitStart(): void {
    const timeout = httpBodyTimeoutMs(this.backend.cluster.entry.bodyTimeoutMs);
    if (timeout === undefined) return;
    if (this.#bodyTimer !== undefined) this.#bodyTimer.refresh();
    else this.#bodyTimer = setTimeout(onBodyTimeout, timeout, this);
  }

  bodyWaitEnd(): void {
    if (this.#bodyTimer !== undefined) {
      clearTimeout(this.#bodyTimer);
      this.#bodyTimer = undefined;
    }
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
    const ms = (this.#readMs ??= httpReadTimeoutMs(this.backend.cluster.entry.readTimeoutMs));
    if (ms !== undefined) arm(this, ms);
  }

  #disarmRead(): void {
    disarm(this);
  }

  /** @internal The read timeout passed (coarse-timer.ts). */
  expire(): void {
    this.timeout('read-timeout');
  }

  #clearTimers(): void {
    this.#disarmRead();
    this.writeWaitEnd();
    this.bodyWaitEnd();
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

function onWriteTimeout(a: HttpAttempt): void {
  a.timeout('write-timeout');
}

function onBodyTimeout(a: HttpAttempt): void {
  a.timeout('body-timeout');
}

function flushHead(a: HttpAttempt): void {
  a.flushHead();
}
