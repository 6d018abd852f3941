/**
 * One HTTP listener: the proxy port of one (Service, port). A node:http server parses HTTP/1
 * strictly (bounded head size, head timeout); connections that open with the HTTP/2 preface
 * are handed to a node:http2 server instead (h2c prior knowledge, e.g. gRPC). Both feed the
 * same route, which is swapped atomically on table applies: a request keeps the route it
 * started with.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { constants, createServer as createH2Server } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, Http2Server, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { Server as NetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ProxyLimits } from '../limits.ts';
import { Exchange } from './exchange.ts';
import { FastConnection, FastResponse } from './h1-fast.ts';
import type { FastHost, FastRequest } from './h1-fast.ts';
import type { HttpRoute } from './exchange.ts';
import type { OverloadManager } from '../overload.ts';
import { H2ContentLengthGuard } from './h2-guard.ts';
import { sniffProtocol } from './sniff.ts';
import { passThroughTls } from './tls-passthrough.ts';
import type { Protocol } from './sniff.ts';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { STATUS_CODES, createServer } = process.getBuiltinModule('node:http');

export interface HttpListenerOptions {
  host: string;
  port: number;
  /** The route, or what builds it on the first request (see `HttpListener.route`). */
  route: HttpRoute | (() => HttpRoute);
  limits: ProxyLimits;
  reusePort?: boolean;
  log: Logger;
  /** The engine's connection budget, shared by all its HTTP listeners. */
  overload?: OverloadManager | undefined;
}

const EXCHANGE = Symbol('hostmesh.exchange');

interface Tagged {
  [EXCHANGE]?: Exchange;
}

function onClientClose(this: Tagged): void {
  const ex = this[EXCHANGE];
  if (ex !== undefined && !ex.done) ex.clientGone();
}

function ignore(): void {}

/** The guard of the h2c connection being handed to the HTTP/2 server (its session is created synchronously). */
let handingOver: H2ContentLengthGuard | undefined;

function startStream(l: HttpListener, req: Http2ServerRequest, res: Http2ServerResponse): void {
  l.startStream(req, res);
}

/**
 * Per h2c session: the first request head must arrive within the head timeout (the idle
 * timeout restarts with every frame, PINGs included), and streams the client cancels before
 * their response ends are counted: past the reset budget, and when they outnumber the streams
 * it let finish, the session ends with GOAWAY ENHANCE_YOUR_CALM (rapid reset).
 */
function guardSession(session: ServerHttp2Session, l: ProxyLimits, frames: H2ContentLengthGuard | undefined): void {
  const head = setTimeout(() => session.destroy(), l.headersTimeoutMs);
  head.unref();
  let resets = 0;
  let completed = 0;
  session.once('close', () => clearTimeout(head));
  session.on('stream', (stream: ServerHttp2Stream) => {
    clearTimeout(head);
    stream.once('close', () => {
      if (stream.rstCode === constants.NGHTTP2_CANCEL || stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (stream.rstCode !== constants.NGHTTP2_NO_ERROR && !stream.sentHeaders)) {
        resets++;
        if (resets > l.h2ResetBudget && resets > completed && !session.destroyed) {
          frames?.onAbuse?.();
          session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
          session.destroy();
        }
      } else {
        completed++;
        if (frames !== undefined) frames.completed = completed;
      }
    });
  });
}

/** The server's connection preface (an empty SETTINGS frame) and GOAWAY ENHANCE_YOUR_CALM, last stream 0. */
const H2_REFUSAL = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, constants.NGHTTP2_ENHANCE_YOUR_CALM]);

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** Refuses an h2c connection before any session exists: the client is told why, what it sent is dropped. */
function refuseH2(socket: Socket): void {
  socket.on('data', ignore);
  socket.end(H2_REFUSAL);
  socket.resume();
  socket.once('finish', () => socket.destroy());
  setTimeout(destroySocket, 1000, socket).unref();
}

/** Per HTTP/1 connection: requests waiting behind the one being served (req, res, req, res...). */
const QUEUE = Symbol('hostmesh.pipeline');
const NEXT = Symbol('hostmesh.pipeline-next');
const PAUSED = Symbol('hostmesh.pipeline-paused');
/** Queued requests at which a pipelining connection stops being read until the queue shrinks. */
const PIPELINE_PAUSE_AT = 16;

const CURRENT = Symbol('hostmesh.pipeline-current');
const REFUSAL = Symbol('hostmesh.pipeline-refusal');

interface Queued {
  [QUEUE]?: (IncomingMessage | ServerResponse)[] | undefined;
  [NEXT]?: () => void;
  [PAUSED]?: boolean;
  /** The request being served. */
  [CURRENT]?: IncomingMessage;
  /** The error answer owed after the responses in flight (a later request was malformed). */
  [REFUSAL]?: string;
}

/** The status Node's own clientError handling gives each parser error. */
function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT': return 408;
    default: return 400;
  }
}

function refuse(socket: Duplex, response: string): void {
  socket.end(response);
  socket.once('finish', () => socket.destroy());
}

/**
 * A malformed request (or one that timed out). Node answers at once, which is right unless
 * responses to earlier pipelined requests are still owed: answering then would put the error
 * where the client expects the earlier response. So the error waits until those went out,
 * and nothing more is read from the connection meanwhile.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err.code);
  const response = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
  const s = socket as Socket & Queued;
  const current = s[CURRENT];
  // A response is owed for a request that arrived whole: the error is about a later one.
  if (s[QUEUE] !== undefined && current !== undefined && current.complete && !s.destroyed) {
    s[REFUSAL] = response;
    s.pause();
    return;
  }
  refuse(socket, response);
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * Rewrites an absolute-form target (`GET http://host/path`) to origin-form (`/path`): backends
 * get the target form origin servers expect, and the Host header, which the proxy routed and
 * applied policies on, stays the one they see. False for a target that is neither form
 * (`OPTIONS *` is left alone).
 */
export function normaliseTarget(req: IncomingMessage): boolean {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 47 /* / */) return true;
  if (url === '*') return req.method === 'OPTIONS';
  const m = ABSOLUTE_FORM.exec(url);
  if (m === null) return false;
  const rest = url.slice(m[0].length);
  req.url = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return true;
}

function wantsTunnel(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.trim().toLowerCase() !== 'h2c';
}

/** The connections a listener tracks, for draining and counting. */
interface Tracked {
  readonly sockets: Set<Socket>;
  /** Not yet handed over: the protocol sniffer still reads their first bytes. */
  readonly sniffing: Set<Socket>;
  readonly sessions: Set<ServerHttp2Session>;
  /** HTTP/1 connections the fast path has (src/proxy/http/h1-fast.ts). */
  readonly fast: Set<FastConnection>;
}

/** What a listener that never had a connection tracks (most of 10,000 on a node): shared, never added to. */
const NONE: Tracked = { sockets: new Set(), sniffing: new Set(), sessions: new Set(), fast: new Set() };

export class HttpListener {
  #route: HttpRoute | undefined;
  #resolveRoute: (() => HttpRoute) | undefined;
  readonly host: string;
  readonly port: number;
  /** Accepts the connections; the sniffer then hands each to the fast path or a server below. */
  readonly #net: NetServer;
  /** node:http, created with the first connection the fast path does not take (most listeners never see one). */
  #server: Server | undefined = undefined;
  #h2: Http2Server | undefined = undefined;
  #h1Connection: ((socket: Socket) => void) | undefined = undefined;
  /** Its connections, from the first one on (NONE until then). */
  #tracked: Tracked = NONE;
  #fastHost: FastHost | undefined = undefined;
  readonly #opts: HttpListenerOptions;
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  constructor(opts: HttpListenerOptions) {
    this.#opts = opts;
    this.route = opts.route;
    this.host = opts.host;
    this.port = opts.port;
    // What node:http would set on the sockets it accepts (half-open allowed: a client may
    // end its side after sending a request), without the server.
    this.#net = new NetServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => this.#onConnection(socket));
  }

  /** The fast path's view of this listener, made with its first connection. */
  #fast1(): FastHost | undefined {
    if (this.#fastHost !== undefined || this.#opts.limits.fastHttp1 === false) return this.#fastHost;
    const l = this.#opts.limits;
    this.#fastHost = {
      serve: (req: FastRequest, res: FastResponse) => this.#exchange(req as unknown as IncomingMessage, res as unknown as ServerResponse),
      fallback: (socket: Socket, pending: Buffer | undefined) => {
        if (pending !== undefined) socket.unshift(pending);
        this.#serveHttp1(socket);
        socket.resume();
      },
      draining: () => this.#draining,
      keepAliveTimeoutMs: l.clientKeepAliveTimeoutMs,
      maxHeaderSize: l.maxHeaderSize,
      headersTimeoutMs: l.headersTimeoutMs,
      released: (conn: FastConnection) => this.#tracked.fast.delete(conn),
    };
    return this.#fastHost;
  }

  /** Hands an HTTP/1 connection to node:http (created now if it is the first). */
  #serveHttp1(socket: Socket): void {
    if (this.#server === undefined) {
      const l = this.#opts.limits;
      const server = createServer({
        headersTimeout: l.headersTimeoutMs,
        // The whole request (body included) is bounded by the route's request timeout, not here.
        requestTimeout: 0,
        keepAliveTimeout: l.clientKeepAliveTimeoutMs,
        connectionsCheckingInterval: l.connectionsCheckingIntervalMs,
        maxHeaderSize: l.maxHeaderSize,
        insecureHTTPParser: false,
        // Requests without a body get an already-ended stream: no stream events per GET.
        optimizeEmptyRequests: true,
        noDelay: true,
        // `Upgrade: h2c` asks to switch *this* connection to HTTP/2; the proxy declines (answers
        // over HTTP/1.1, as the client then expects) instead of tunnelling it to the backend.
        shouldUpgradeCallback: wantsTunnel,
      }, (req, res) => this.#onRequest(req, res));
      server.on('upgrade', (req: IncomingMessage, s: Duplex, head: Buffer) => this.#onUpgrade(req, s, head));
      server.on('clientError', onClientError);
      // It never listens itself (#net does): its connection tracking (head timeouts, idle
      // connections) starts on 'listening', as a listening server's would.
      server.emit('listening');
      this.#h1Connection = server.listeners('connection')[0] as (socket: Socket) => void;
      this.#server = server;
    }
    this.#h1Connection!.call(this.#server, socket);
  }

  /**
   * Swapped by table applies; each request reads it once, when it arrives. Set to a function,
   * the route is that function's result, asked for on the first request (the engine builds
   * plain routes only when they are used: issue 12).
   */
  get route(): HttpRoute {
    return this.#route ?? (this.#route = this.#resolveRoute!());
  }

  set route(route: HttpRoute | (() => HttpRoute)) {
    if (typeof route === 'function') {
      this.#route = undefined;
      this.#resolveRoute = route;
    } else {
      this.#route = route;
      this.#resolveRoute = undefined;
    }
  }

  /** The HTTP/2 server, created with the first h2c connection (most listeners never see one). */
  #h2Server(): Http2Server {
    if (this.#h2 !== undefined) return this.#h2;
    const l = this.#opts.limits;
    const h2 = createH2Server({
      settings: { maxConcurrentStreams: l.h2MaxConcurrentStreams, maxHeaderListSize: l.maxHeaderSize },
      maxSessionInvalidFrames: 100,
      // nghttp2's own RST_STREAM rate limit (the 2023 rapid-reset fix), tighter than Node's default;
      // a backstop behind guardSession's budget, which ends the session first and says why.
      streamResetBurst: l.h2ResetBudget * 2,
      streamResetRate: l.h2ResetRatePerSecond,
    }, (req, res) => this.#onRequest(req, res));
    h2.setTimeout(l.clientKeepAliveTimeoutMs);
    h2.on('session', (session: ServerHttp2Session) => {
      this.#track().sessions.add(session);
      session.on('close', () => this.#tracked.sessions.delete(session));
      session.on('error', ignore);
      const frames = handingOver;
      handingOver = undefined;
      frames?.attach(session, l.h2ResetBudget);
      guardSession(session, l, frames);
      if (this.#draining) session.close();
    });
    h2.on('sessionError', (err: Error) => this.#opts.log.debug({ port: this.port, err: err.message }, 'h2c session error'));
    this.#h2 = h2;
    return h2;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#net.removeListener('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.#net.removeListener('error', onError);
        this.#logErrors();
        resolve();
      };
      this.#net.once('error', onError);
      this.#net.once('listening', onListening);
      this.#net.listen({ host: this.host, port: this.port, reusePort: this.#opts.reusePort ?? false });
    });
  }

  /**
   * Logs the server's errors from now on. A method of its own: a handler made inside listen()'s
   * promise would keep that promise's functions alive for the listener's life (~200 bytes per
   * listener, 2 MB at 10,000 Services; issue 12).
   */
  #logErrors(): void {
    this.#net.on('error', (err) => this.#opts.log.error({ port: this.port, err: err.message }, 'listener error'));
  }

  #track(): Tracked {
    if (this.#tracked === NONE) this.#tracked = { sockets: new Set(), sniffing: new Set(), sessions: new Set(), fast: new Set() };
    return this.#tracked;
  }

  /** Open client connections (for diagnostics and tests). */
  get connections(): number {
    return this.#tracked.sockets.size;
  }

  /**
   * Stops accepting, lets in-flight requests finish (their responses close the connection),
   * closes idle keep-alive connections and HTTP/2 sessions (GOAWAY), and cuts whatever is left
   * after `drainMs`. Idle keep-alive connections get `limits.drainIdleGraceMs` first: a client
   * may be sending on one right now, and closing it under that request would fail it; a request
   * arriving in the grace is answered with `Connection: close`.
   */
  close(drainMs: number): Promise<void> {
    this.#draining = true;
    const { promise, resolve } = Promise.withResolvers<void>();
    let serverClosed = false;
    const idleAfter = Date.now() + Math.min(this.#opts.limits.drainIdleGraceMs, drainMs);
    const poll = setInterval(() => {
      if (Date.now() >= idleAfter) {
        this.#server?.closeIdleConnections();
        for (const c of this.#tracked.fast) c.closeIfIdle();
      }
      check();
    }, 50);
    const forced = setTimeout(() => {
      for (const s of this.#tracked.sockets) s.destroy();
      for (const session of this.#tracked.sessions) session.destroy();
    }, drainMs);
    const check = (): void => {
      if (!serverClosed || this.#tracked.sockets.size > 0) return;
      clearTimeout(forced);
      clearInterval(poll);
      this.#onSocketGone = undefined;
      // node:http's head-timeout timer, if one was made (even during the drain).
      this.#server?.close();
      resolve();
    };
    this.#onSocketGone = check;
    const closed = (): void => {
      serverClosed = true;
      check();
    };
    // http.Server#close also closes idle keep-alive connections at once. With a grace only the
    // listening socket closes now (net.Server#close); idle connections wait for the grace.
    // Only the listening socket closes now; node:http's idle connections wait for the grace
    // (without one they close at once, as http.Server#close does).
    this.#net.close(closed);
    if (this.#opts.limits.drainIdleGraceMs <= 0) this.#server?.close();
    for (const s of this.#tracked.sniffing) s.destroy();
    for (const session of this.#tracked.sessions) session.close();
    if (this.#opts.limits.drainIdleGraceMs <= 0) for (const c of this.#tracked.fast) c.closeIfIdle();
    return promise;
  }

  #onSocketGone: (() => void) | undefined = undefined;

  #onConnection(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    if (this.#opts.overload !== undefined && !this.#opts.overload.admit(socket)) return;
    const tracked = this.#track();
    tracked.sockets.add(socket);
    tracked.sniffing.add(socket);
    socket.on('error', ignore);
    socket.once('close', () => {
      this.#tracked.sockets.delete(socket);
      this.#tracked.sniffing.delete(socket);
      this.#onSocketGone?.();
    });
    sniffProtocol(socket, this.#opts.limits.headersTimeoutMs, (s: Socket, protocol: Protocol) => this.#handOver(s, protocol));
  }

  #handOver(socket: Socket, protocol: Protocol): void {
    this.#tracked.sniffing.delete(socket);
    if (protocol === 'h2') {
      const overload = this.#opts.overload;
      const address = socket.remoteAddress;
      // A client whose session was just ended for abuse (rapid reset) gets no new session.
      if (overload !== undefined && overload.penalized(address)) {
        overload.h2Refused++;
        refuseH2(socket);
        return;
      }
      // HTTP/2 has no half-closed connections: a client that sends FIN is gone. Without this,
      // the server side would sit in CLOSE-WAIT until the idle timeout.
      socket.once('end', () => socket.destroy());
      // DATA beyond a stream's content-length must cost that stream only (h2-guard.ts).
      const guard = new H2ContentLengthGuard(socket);
      guard.on('error', ignore);
      if (overload !== undefined) {
        const penalty = this.#opts.limits.h2AbusePenaltyMs;
        guard.onAbuse = () => overload.penalize(address, penalty);
      }
      handingOver = guard;
      this.#h2Server().emit('connection', guard);
      handingOver = undefined;
    } else if (protocol === 'tls') {
      passThroughTls(socket, this.route, this.#opts.log);
    } else {
      const fast = this.#fast1();
      if (fast !== undefined) {
        this.#track().fast.add(new FastConnection(socket, fast));
      } else {
        this.#serveHttp1(socket);
        socket.resume();
      }
    }
  }

  #onRequest(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    if (req.httpVersionMajor !== 2) {
      // HTTP/1: one request at a time per connection. Node parses pipelined requests as they
      // arrive; the ones behind an unfinished response wait here (their responses must go out
      // in order anyway), so one connection never fans out to many backend connections.
      const socket = req.socket as Socket & Queued;
      const q = socket[QUEUE];
      if (q !== undefined) {
        q.push(req as IncomingMessage, res as ServerResponse);
        if (q.length >= PIPELINE_PAUSE_AT * 2 && !socket.isPaused()) {
          socket[PAUSED] = true;
          socket.pause();
        }
        return;
      }
      socket[QUEUE] = [];
      this.#start(req as IncomingMessage, res as ServerResponse, socket);
      return;
    }
    // HTTP/2: start on the next turn of the event loop, after the rest of what was read with
    // this stream's HEADERS is processed: a stream the client already reset (rapid reset)
    // then never reaches a backend.
    setImmediate(startStream, this, req as Http2ServerRequest, res as Http2ServerResponse);
  }

  /** @internal */
  startStream(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const stream = req.stream;
    if (stream.destroyed || stream.closed) return;
    this.#exchange(req, res);
  }

  /** Runs an HTTP/1 request; the connection's next queued request starts when its response closes. */
  #start(req: IncomingMessage, res: ServerResponse, socket: Socket & Queued): void {
    socket[NEXT] ??= () => this.#next(socket);
    socket[CURRENT] = req;
    res.once('close', socket[NEXT]);
    if (!normaliseTarget(req)) {
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
      res.end('request target must be origin-form or absolute-form\n');
      return;
    }
    this.#exchange(req, res);
  }

  #next(socket: Socket & Queued): void {
    const q = socket[QUEUE];
    if (q === undefined) return;
    // A response that closes the connection (`Connection: close`, an error) ends the line:
    // requests parsed behind it are never answered, so they are not forwarded either.
    if (q.length === 0 || socket.destroyed || socket.writableEnded) {
      socket[QUEUE] = undefined;
      const refusal = socket[REFUSAL];
      if (refusal !== undefined && !socket.destroyed) refuse(socket, refusal);
      return;
    }
    const req = q.shift() as IncomingMessage;
    const res = q.shift() as ServerResponse;
    if (socket[PAUSED] === true && q.length < PIPELINE_PAUSE_AT) {
      socket[PAUSED] = false;
      socket.resume();
    }
    this.#start(req, res, socket);
  }

  #exchange(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    const response = res as ServerResponse;
    const ex = new Exchange(req, response, undefined, undefined, this.route, this);
    if (res instanceof FastResponse) res.owner = ex;
    else {
      (response as Tagged)[EXCHANGE] = ex;
      response.on('close', onClientClose);
    }
    this.#run(ex);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // An upgrade with a body is refused: where the body ends and tunnel data starts would be
    // the backend's guess (WebSocket handshakes never carry one).
    const length = req.headers['content-length'];
    const withBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (withBody || !normaliseTarget(req)) {
      refuse(socket, 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const ex = new Exchange(req, undefined, socket, head, this.route, this);
    (socket as Tagged)[EXCHANGE] = ex;
    socket.on('close', onClientClose);
    this.#run(ex);
  }

  #run(ex: Exchange): void {
    try {
      ex.route.handle(ex);
    } catch (err) {
      // A stage bug must cost one request, never the process.
      ex.route.log.error({ route: ex.route.id, err: (err as Error).message }, 'request handling failed');
      ex.attempt?.cancel();
      if (!ex.done) ex.fail('reset');
    }
  }
}
