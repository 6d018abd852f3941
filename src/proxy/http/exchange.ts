/**
 * One HTTP request as it runs through a route's stages: the small per-request context every
 * stage reads and writes. Stages are closures built once per route; per request there is this
 * object and one attempt object per backend try. When it finishes, the exchange calls the
 * route's completion once: the stages that observe outcomes (metrics, circuit breaker, access
 * log) each wrapped it when they were built (src/proxy/stages/types.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { IdentityEntry, RouteEntry, RouteRule } from '../../table/index.ts';
import { connectionIdentity } from '../identity.ts';
import type { IdentityLookup } from '../identity.ts';
import type { EndpointState } from '../endpoints/endpoint.ts';
import type { EndpointHandle } from '../types.ts';
import type { BackendStats, RouteStats } from '../metrics.ts';
import { methodIndex } from '../metrics.ts';
import type { Deadline } from './coarse-timer.ts';
import { errorPage, rawErrorResponse } from './error-page.ts';
import type { ErrorPage } from './error-page.ts';
import type { Failure } from './failures.ts';
import { clientAddress, requestHeaders } from './headers.ts';
import type { HttpCluster, Upstream } from './upstream.ts';
import type { ServerSpan, Tracer } from '../tracing/span.ts';

export type ClientRequest = IncomingMessage | Http2ServerRequest;
/**
 * HTTP/2 responses (the compatibility API) are typed as HTTP/1 ones: the calls the proxy makes
 * behave alike, except that HTTP/2 heads take a header object (see `Exchange.h2`).
 */
export type ClientResponse = ServerResponse;

/** One weighted backend of a route, resolved to its cluster and counters. */
export interface RouteBackend {
  readonly cluster: HttpCluster;
  readonly weight: number;
  readonly stats: BackendStats;
}

/** A split rule of a route (`RouteEntry.rules`) with its backends resolved. */
export interface HttpRule {
  /** The table's rule (structured matches, filters, policies: docs/rule-model.md). */
  readonly rule: RouteRule;
  /** Matcher expression source; compiled with the route's expressions. Absent: no expression. */
  readonly match: string | undefined;
  /** The rule's cluster backends (its `respond` answers are the direct-answer stage's). */
  readonly backends: readonly RouteBackend[];
  /** The rule's own mirror cluster (`rule.mirror`), resolved once. */
  readonly mirror?: HttpCluster | undefined;
}

/** Changes response headers in place (lower-case names), before the head is sent. */
export type ResponseEdit = (headers: Record<string, string | string[] | undefined>) => void;

/** Where finished exchanges go when access logging is on (src/proxy/access-log.ts). */
export interface ExchangeLog {
  record(ex: Exchange): void;
}

/** A route as requests see it: built once per table apply, never changed afterwards. */
export interface HttpRoute {
  readonly id: string;
  readonly entry: RouteEntry;
  readonly backends: readonly RouteBackend[];
  readonly stats: RouteStats;
  /** Counters used when no backend was chosen (every weight 0): the first backend's. */
  readonly defaultStats: BackendStats;
  readonly retryAfterSeconds: number;
  readonly log: Logger;
  /** The cluster that receives copies of sampled requests (`mirror`), resolved once. */
  readonly mirror?: HttpCluster | undefined;
  // Backend choice, sticky cookie, access log:
  /** Split rules in order; requests matching none use `backends`. */
  readonly rules: readonly HttpRule[];
  /**
   * Set on the route a rule's stages are built over (rule-dispatch): the rule whose requests
   * they handle. Its `entry` is the route's with the rule's policies and backends in place.
   */
  readonly rule?: HttpRule | undefined;
  /** Secret behind sticky-cookie values (the engine's affinity secret). */
  readonly affinitySecret: string;
  /** Set when access logging is on. */
  readonly accessLog?: ExchangeLog | undefined;
  /** Set when tracing is on: head sampling and span start (stages/trace.ts). */
  readonly tracer?: Tracer | undefined;
  /**
   * Who a client is by its source address (the table's identity map): client-scoped rules,
   * ACLs. The engine always sets it; routes built by hand in tests may leave it out (no one known).
   */
  readonly identities?: IdentityLookup | undefined;
  /** Problems stages found while being built (e.g. a rule that does not compile). */
  readonly warnings: string[];
  /** The first stage. */
  handle: (ex: Exchange) => void;
  /** Told once how each exchange ended: the stages' completions, outermost first. */
  complete: (ex: Exchange, status: number, now: number) => void;
}

/**
 * One try at one endpoint. It reports once, through the callback given to the attempt stages,
 * either a `failure` (nothing reached the client) or a response head (`status`, `headers`)
 * that is NOT yet sent: the caller then calls `commit()` to stream the response to the client,
 * or `discard()` to drop it (a retry stage trying another endpoint).
 */
export interface UpstreamAttempt {
  readonly endpoint: EndpointHandle | undefined;
  readonly failure: Failure | undefined;
  readonly status: number;
  /** Response head, lower-case names (undefined for raw relays and failures). */
  readonly headers: Record<string, string | string[] | undefined> | undefined;
  commit(): void;
  discard(): void;
  /** The exchange is over (client gone, deadline): stop and free everything. */
  cancel(): void;
}

export type AttemptDone = (ex: Exchange, attempt: UpstreamAttempt) => void;

/** What an exchange needs to know about the listener that accepted it. */
export interface ListenerState {
  /** The listener is being removed: responses should close their connection. */
  readonly draining: boolean;
}

const CLIENT_CLOSED = 499;

/** An HTTP/1 request whose body has not been read to its end. */
function bodyPending(req: IncomingMessage): boolean {
  if (req.complete || req.readableEnded) return false;
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export class Exchange implements Deadline {
  readonly req: ClientRequest;
  /** Undefined for an upgrade: the connection itself (`socket`) was handed over. */
  readonly res: ClientResponse | undefined;
  readonly socket: Duplex | undefined;
  /** Bytes the client sent after an upgrade request's head. */
  readonly head: Buffer | undefined;
  readonly route: HttpRoute;
  readonly listener: ListenerState;
  /** The client speaks HTTP/2 (h2c). */
  readonly h2: boolean;
  readonly method: string;
  readonly methodIdx: number;
  /** performance.now() when the request arrived. */
  readonly start: number;
  backend: RouteBackend | undefined = undefined;
  /** The endpoint picked for the next attempt. */
  endpoint: EndpointState<Upstream> | undefined = undefined;
  attempt: UpstreamAttempt | undefined = undefined;
  /** Endpoints already tried, for a retry stage to pass as `exclude`. */
  tried: Set<EndpointHandle> | undefined = undefined;
  /** The whole-request deadline (request-timeout stage; http/coarse-timer.ts), 0 while none runs. */
  at = 0;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  /** Response headers stages add (flat name/value list), e.g. an affinity cookie. */
  extraHeaders: string[] | undefined = undefined;
  /**
   * A buffered request body that every attempt can send again. Undefined means the body (if
   * any) streams from the client and can be sent once: see `bodyTaken`.
   */
  body: Buffer | undefined = undefined;
  /** The streaming client body was handed to an attempt, so it cannot be replayed. */
  bodyTaken = false;
  /** Whether the client sends a body (set with `upstreamHeaders`). */
  hasBody = false;
  /** Backend request headers, built on the first attempt and reused by later ones. */
  upstreamHeaders: string[] | undefined = undefined;
  /** Status sent to the client; 0 until finished. */
  status = 0;
  done = false;
  /** Bits stages set as the request passes them, read by their completion (`StageContext.mark`). */
  marks = 0;
  // --- rules (stages/rule-dispatch/, filters/) ---
  /** Index of the route rule that took the request; -1 for the route's own backends. */
  rule = -1;
  /** Length of the path prefix the rule's PathPrefix match matched (for ReplacePrefixMatch); -1 otherwise. */
  prefixLength = -1;
  /** The request target sent to the backend when a filter rewrote it; `req.url` otherwise. */
  path: string | undefined = undefined;
  /** Response header changes of the rule's filters, then of the chosen backend's. */
  ruleResponseEdit: ResponseEdit | undefined = undefined;
  backendResponseEdit: ResponseEdit | undefined = undefined;
  // --- owned by the retry stage (stages/retry/) ---
  /** `retry-on` matched: the request may be retried after it reached a backend. */
  retryOn = false;
  /** Retries made so far. */
  retries = 0;
  /** performance.now() when the first attempt started (for `retry-duration`). */
  firstAttemptAt = 0;
  // Access log and trace context:
  /** The `traceparent` sent to the backend (set with `upstreamHeaders`). */
  traceparent: string | undefined = undefined;
  /** Request body bytes streamed from the client to a backend (a buffered `body` counts as its length). */
  bytesIn = 0;
  /** Response body bytes written to the client. */
  bytesOut = 0;
  /** Attempts started; more than one means retries. */
  attempts = 0;
  /** The client address when the request arrived (only recorded when access logging is on). */
  client: string | undefined = undefined;
  /** An upgrade's tunnel is logged when it closes rather than when the exchange finishes. */
  logAtTunnelEnd = false;
  // --- tracing (stages/trace.ts) ---
  /** The `traceparent` to send instead of the client's: this proxy's span, or its unsampled new trace. */
  ownTraceparent: string | undefined = undefined;
  /** This request's server span, when sampled; ended (and queued for export) when the exchange completes. */
  span: ServerSpan | undefined = undefined;

  constructor(req: ClientRequest, res: ClientResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined, route: HttpRoute, listener: ListenerState) {
    this.start = performance.now();
    this.listener = listener;
    this.req = req;
    this.h2 = req.httpVersionMajor === 2;
    this.res = res;
    this.socket = socket;
    this.head = head;
    this.route = route;
    this.method = req.method ?? 'GET';
    this.methodIdx = methodIndex(this.method);
  }

  /** The backend request headers, built once per request; also learns whether a body follows. */
  backendHeaders(): string[] {
    let h = this.upstreamHeaders;
    if (h === undefined) {
      h = requestHeaders(this.req.rawHeaders, clientAddress(this.req.socket.remoteAddress), this);
      // HTTP/2: a body follows unless the HEADERS frame ended the stream.
      if (this.h2) this.hasBody = !(this.req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
      this.upstreamHeaders = h;
    }
    return h;
  }

  get headersSent(): boolean {
    return this.res !== undefined ? this.res.headersSent : this.status !== 0;
  }

  /** The client's identity (namespace, ServiceAccount) from the identity map; undefined when unknown. */
  identity(): IdentityEntry | undefined {
    const identities = this.route.identities;
    return identities === undefined ? undefined : connectionIdentity(identities, this.req.socket);
  }

  /** Answers with the proxy's own error page (or aborts, when a response already started). */
  fail(failure: Failure): void {
    if (this.done) return;
    if (this.headersSent) {
      this.abort();
      return;
    }
    const backend = this.backend?.cluster.id;
    this.respond(errorPage(failure, this.route.id, backend, this.req.headers.accept, this.route.retryAfterSeconds));
  }

  /** Answers with a page the proxy wrote (error, maintenance) and finishes. */
  respond(page: ErrorPage): void {
    if (this.done) return;
    if (this.headersSent) {
      this.abort();
      return;
    }
    if (this.res !== undefined) {
      this.prepareHead();
      // Unread request body: close after answering rather than swallow the rest of an upload.
      if (!this.h2 && bodyPending(this.req as IncomingMessage)) this.res.shouldKeepAlive = false;
      this.res.writeHead(page.status, page.headers);
      if (this.method === 'HEAD') this.res.end();
      else {
        this.res.end(page.body);
        this.bytesOut = Number(page.headers['content-length']);
      }
    } else if (this.socket !== undefined && this.socket.writable) {
      this.socket.end(rawErrorResponse(page));
      this.bytesOut = Number(page.headers['content-length']);
    }
    this.finish(page.status);
  }

  /** Call right before writing the response head. */
  prepareHead(): void {
    if (this.listener.draining && !this.h2) this.res!.shouldKeepAlive = false;
  }

  /** Cuts the client connection: a response already started and cannot be completed. */
  abort(): void {
    if (this.done) return;
    const status = this.res?.statusCode ?? this.status;
    if (this.res !== undefined) this.res.destroy();
    else this.socket?.destroy();
    this.finish(status || 502);
  }

  /** The client went away before the response was complete. */
  clientGone(): void {
    if (this.done) return;
    this.attempt?.cancel();
    this.finish(CLIENT_CLOSED);
  }

  /** The route's deadline passed. */
  expire(): void {
    if (this.done) return;
    this.attempt?.cancel();
    this.fail('request-timeout');
  }

  /** The exchange is over: tells the route's completion once (metrics, breaker, access log, timers). */
  finish(status: number): void {
    if (this.done) return;
    this.done = true;
    this.status = status;
    this.route.complete(this, status, performance.now());
    // The one check tap costs a request nobody taps (src/proxy/live/tap.ts).
    const tap = this.route.stats.tap;
    if (tap !== undefined) tap.offer(this);
  }
}
