/**
 * A keep-alive pool of plain HTTP/1.1 connections to one endpoint, on raw sockets, for requests
 * whose body is absent or held in memory (the common case). It speaks undici's dispatch-handler
 * protocol (`onRequestStart`, `onResponseStart`, ... with a pause/resume/abort controller), so
 * the attempt code above it is the same for both; anything else (a streamed request body) goes
 * to an undici pool kept alongside. Responses are parsed by Node's own HTTP parser (llhttp, the
 * binding node:http uses), strict mode, with the same head size limit.
 *
 * Why: undici's per-request machinery (request object, wasm parser, its event plumbing) was the
 * largest part of the proxy's CPU per request after the kernel (see docs/proxy-internals.md).
 *
 * The request head goes out in one write, in the form undici writes it: request line, `host`
 * first, `connection: keep-alive`, the given headers in order (`host` and `content-length`
 * taken out), then `content-length` where a body is sent or the method expects one.
 */
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { trackBackendSocket } from '../overload.ts';
import { directWrite } from './direct-write.ts';
import { readResponse } from './h1-response.ts';
import type { FastResponseHead } from './h1-response.ts';
import { BAD_VALUE, isTokenName } from './h1-syntax.ts';
import { keepAliveHintMs } from './keep-alive.ts';

type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string });
  finish(): undefined | (Error & { code?: string });
  remove?(): void;
  free?(): void;
  [key: number]: unknown;
}
interface ParserClass {
  new (): Parser;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}

const require = createRequire(import.meta.url);
const { HTTPParser } = require('_http_common') as { HTTPParser: ParserClass };

export interface H1PoolOptions {
  host: string;
  port: number;
  dialTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderSize: number;
  /** Most connections at once; 0 for no limit. */
  connections: number;
  /** Where streamed request bodies go (created on first use). */
  fallback: () => Dispatcher;
}

/** Errors shaped as undici's, so the attempt code reads them the same way (see failures.ts). */
function upstreamError(message: string, code: string, socket?: Socket): Error {
  const err = new Error(message) as Error & { code: string; socket?: { bytesRead: number } };
  err.code = code;
  if (socket !== undefined) err.socket = { bytesRead: socket.bytesRead };
  return err;
}

/**
 * Every backend connection reads into this one buffer: reads are handled synchronously (the
 * parser copies body bytes out), so no read allocates, and a paused connection stops reading
 * at once.
 */
const readBuffer = (): Uint8Array => READ_BUFFER;
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);
/** Request-target characters undici accepts (visible ASCII and obs-text). */
const BAD_PATH = /[^\u0021-\u00ff]/;
const DIGITS = /^\d+$/;
/** Headers the head writer owns or undici refuses (hop-by-hop ones are stripped before). */
const REFUSED: Readonly<Record<string, true>> = { __proto__: null as never, 'connection': true, 'keep-alive': true, 'upgrade': true, 'transfer-encoding': true, 'expect': true };

interface HeadLines {
  host: string | undefined;
  lines: string;
  declared: number | undefined;
  error: Error | undefined;
}

/** Bit n set: a name looked at below (REFUSED, host, content-length) has n characters. */
const LOOKED_AT = [...Object.keys(REFUSED), 'host', 'content-length'].reduce((bits, name) => bits | (1 << name.length), 0);

/** Adds one header (a value or a list) to the head being built; false (and `error` set) when undici would refuse it. */
function addLine(h: HeadLines, name: unknown, value: unknown): boolean {
  if (typeof name !== 'string' || value === undefined) return true;
  // Only names as long as one looked at need their lower case (the others pass as they are).
  const looked = name.length > 31 || (LOOKED_AT & (1 << name.length)) !== 0;
  const lower = looked ? name.toLowerCase() : name;
  if ((looked && REFUSED[lower] === true) || !isTokenName(name)) return refuse(h, `invalid ${name} header`, 'UND_ERR_INVALID_ARG');
  if (Array.isArray(value)) {
    if (value.length > 1 && (lower === 'host' || lower === 'content-length')) {
      // One Host only (undici's rule too): two could route differently at the backend.
      return refuse(h, lower === 'host' ? 'duplicate host header' : 'invalid content-length header', 'UND_ERR_INVALID_ARG');
    }
    for (const v of value as unknown[]) if (!addValue(h, name, lower, v === null ? '' : String(v))) return false;
    return true;
  }
  return addValue(h, name, lower, typeof value === 'string' ? value : value === null ? '' : String(value));
}

function addValue(h: HeadLines, name: string, lower: string, s: string): boolean {
  if (BAD_VALUE.test(s)) return refuse(h, `invalid ${name} header`, 'UND_ERR_INVALID_ARG');
  if (lower === 'host') {
    if (h.host !== undefined) return refuse(h, 'duplicate host header', 'UND_ERR_INVALID_ARG');
    h.host = s;
  } else if (lower === 'content-length') {
    if (h.declared !== undefined || !DIGITS.test(s)) return refuse(h, 'invalid content-length header', 'UND_ERR_INVALID_ARG');
    h.declared = Number.parseInt(s, 10);
  } else h.lines += `${name}: ${s}\r\n`;
  return true;
}

function refuse(h: HeadLines, message: string, code: string): false {
  h.error = upstreamError(message, code);
  return false;
}

/** The request head (without its final CRLF), or an error to report as undici would. */
function requestHead(opts: Dispatcher.DispatchOptions, defaultHost: string, body: Buffer | null): string | Error {
  const method = opts.method;
  const path = opts.path;
  if (typeof path !== 'string' || (path.charCodeAt(0) !== 47 && !path.startsWith('http://') && !path.startsWith('https://')) || BAD_PATH.test(path)) {
    return upstreamError('invalid request path', 'UND_ERR_INVALID_ARG');
  }
  if (!isTokenName(method)) return upstreamError('invalid request method', 'UND_ERR_INVALID_ARG');
  const raw = opts.headers;
  const state: HeadLines = { host: undefined, lines: '', declared: undefined, error: undefined };
  if (raw !== null && raw !== undefined) {
    if (Array.isArray(raw)) {
      // The proxy's own case: a flat name/value list, walked in place.
      for (let i = 0; i < raw.length; i += 2) if (!addLine(state, raw[i], raw[i + 1])) return state.error!;
    } else {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (!addLine(state, k, v)) return state.error!;
    }
  }
  const { host, lines, declared } = state;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host ?? defaultHost}\r\nconnection: keep-alive\r\n${lines}`;
  const length = body === null ? 0 : body.length;
  if (length > 0 && declared !== undefined && declared > 0 && declared !== length) {
    return upstreamError('request body length does not match content-length', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  }
  if (length > 0 || PAYLOAD_METHODS.has(method)) head += `content-length: ${length}\r\n`;
  return head;
}

/** The controller a handler gets: pausing holds body chunks (and the end) until it resumes. */
class Controller implements Dispatcher.DispatchController {
  paused = false;
  aborted = false;
  reason: Error | null = null;
  readonly #exchange: Exchange;

  constructor(exchange: Exchange) {
    this.#exchange = exchange;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.#exchange.flush();
  }

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#exchange.abort(reason);
  }
}

const HELD_END = Symbol('end');

/** One request on one connection, from the head written to the response's end. */
class Exchange {
  readonly conn: Conn;
  readonly handler: Handler;
  readonly controller: Controller;
  readonly head: boolean;
  /** Nothing more to tell the handler (ended, failed or aborted). */
  over = false;
  started = false;
  /** The request went out: aborting now costs the connection. */
  sent = false;
  /** Body chunks (and the end, or the failure) that arrived while the handler had paused. */
  held: (Buffer | Error | typeof HELD_END)[] | undefined = undefined;

  constructor(conn: Conn, handler: Handler, head: boolean) {
    this.conn = conn;
    this.handler = handler;
    this.head = head;
    this.controller = new Controller(this);
  }

  data(chunk: Buffer): void {
    if (this.over) return;
    if (this.controller.paused || this.held !== undefined) {
      (this.held ??= []).push(chunk);
      // Backpressure: read nothing more from the backend until the handler resumes.
      this.conn.socket.pause();
      return;
    }
    this.handler.onResponseData?.(this.controller, chunk);
  }

  end(): void {
    if (this.over) return;
    if (this.controller.paused || this.held !== undefined) {
      (this.held ??= []).push(HELD_END);
      return;
    }
    this.over = true;
    this.conn.released(this);
    this.handler.onResponseEnd?.(this.controller, {});
  }

  flush(): void {
    const held = this.held;
    if (held === undefined) {
      if (!this.over) this.conn.socket.resume();
      return;
    }
    while (held.length > 0 && !this.controller.paused && !this.over) {
      const next = held.shift()!;
      if (next === HELD_END || next instanceof Error) {
        this.held = undefined;
        if (next === HELD_END) this.end();
        else this.fail(next);
        return;
      }
      this.handler.onResponseData?.(this.controller, next);
    }
    if (held.length === 0 && this.held === held) this.held = undefined;
    if (this.held === undefined && !this.over && !this.controller.paused) this.conn.socket.resume();
  }

  fail(err: Error): void {
    if (this.over) return;
    if (this.started && (this.controller.paused || this.held !== undefined)) {
      // As with undici: a paused response learns of the loss when it resumes reading.
      (this.held ??= []).push(err);
      return;
    }
    this.over = true;
    this.handler.onResponseError?.(this.controller, err);
  }

  abort(reason: Error): void {
    if (this.over) return;
    this.over = true;
    // Aborted before anything was written (a request cancelled while it waited): the
    // connection stays good.
    if (this.sent) this.conn.destroy();
    else this.conn.released(this);
    this.handler.onResponseError?.(this.controller, reason);
  }
}

class Conn {
  readonly pool: H1Pool;
  readonly socket: Socket;
  readonly parser: Parser;
  current: Exchange | undefined = undefined;
  connected = false;
  closed = false;
  /** The backend said this response is the connection's last, or the request asked for that. */
  closeAfter = false;
  #idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Date.now() when the connection last became idle; 0 while it serves a request. */
  #idleFrom = 0;
  #idleLimit = 0;
  /** When the idle timer fires (Date.now() scale). */
  #timerAt = 0;
  /** Idle time the backend's last `Keep-Alive: timeout=` allows (undefined: the pool's). */
  idleMs: number | undefined = undefined;
  #headers: string[] | undefined = undefined;
  /** The parser saw the current response end: any byte after it is a protocol violation. */
  #complete = false;
  #poisoned = false;
  #inExecute = false;
  /** An exchange that ended while the parser was running: released after it returns. */
  #endedInExecute: Exchange | undefined = undefined;
  /** llhttp has bytes of the current response: the rest of it is llhttp's too. */
  #fed = false;
  /** Longest response head the fast reader takes (llhttp takes longer ones, up to its limit). */
  readonly #maxFastHead: number;

  constructor(pool: H1Pool, socket: Socket, maxHeaderSize: number) {
    this.pool = pool;
    this.socket = socket;
    this.#maxFastHead = Math.min(8192, Math.floor(maxHeaderSize / 2));
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, maxHeaderSize, 0);
    p[HTTPParser.kOnMessageBegin] = () => {
      if (this.#complete || this.current === undefined) this.#poisoned = true;
    };
    p[HTTPParser.kOnHeaders] = (headers: string[]) => {
      this.#headers = this.#headers === undefined ? headers : this.#headers.concat(headers);
    };
    p[HTTPParser.kOnHeadersComplete] = (_maj: number, min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, statusText: string, upgrade: boolean, keepAlive: boolean): number => this.#onHead(headers, status, statusText, upgrade, keepAlive, min);
    p[HTTPParser.kOnBody] = (chunk: Buffer) => this.current?.data(chunk);
    p[HTTPParser.kOnMessageComplete] = () => this.#onComplete();
    this.parser = p;
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: Error) => this.#lost(err));
    socket.on('close', () => this.#lost(undefined));
  }

  #onHead(headers: string[] | undefined, status: number, statusText: string, upgrade: boolean, keepAlive: boolean, _minor: number): number {
    let all = this.#headers;
    this.#headers = undefined;
    if (headers !== undefined && headers.length > 0) all = all === undefined ? headers : all.concat(headers);
    const ex = this.current;
    if (ex === undefined || ex.over || this.#poisoned) {
      // A response nobody asked for: the connection cannot be trusted any more.
      this.destroy();
      return 1;
    }
    if (status < 200) {
      if (upgrade || status === 101) {
        this.destroy();
        ex.fail(upstreamError('unexpected protocol switch', 'UND_ERR_SOCKET', this.socket));
      }
      return 0;
    }
    if (!keepAlive) this.closeAfter = true;
    ex.started = true;
    const obj: Headers = {};
    if (all !== undefined) {
      for (let i = 0; i < all.length; i += 2) {
        const name = all[i]!.toLowerCase();
        const value = all[i + 1]!;
        const prev = obj[name];
        if (prev === undefined) obj[name] = value;
        else if (typeof prev === 'string') obj[name] = [prev, value];
        else prev.push(value);
      }
    }
    const hint = keepAliveHintMs(obj['keep-alive'], this.pool.keepAliveTimeoutMs);
    if (hint !== undefined) {
      if (hint === 0) this.closeAfter = true;
      else this.idleMs = hint;
    }
    ex.handler.onResponseStart?.(ex.controller, status, obj, statusText);
    // A HEAD response has no body whatever its head says.
    return ex.head ? 1 : 0;
  }

  #onComplete(): void {
    const ex = this.current;
    if (ex === undefined || !ex.started || this.#poisoned) return;
    this.#complete = true;
    ex.end();
  }

  /** @internal Bytes read from the backend (a view into the shared read buffer: not kept). */
  onData(chunk: Buffer): void {
    if (this.current === undefined || this.#complete) {
      // Bytes after the response ended: nothing is owed, so they can only be garbage.
      this.#poisoned = true;
      if (this.current === undefined) this.destroy();
      return;
    }
    this.#inExecute = true;
    if (!this.#fed && !this.current.head) {
      // A whole plain response in this read: read here, without llhttp (h1-response.ts).
      const fast = readResponse(chunk, this.#maxFastHead);
      if (fast !== null) {
        this.#fastResponse(fast, chunk);
        this.#inExecute = false;
        const done = this.#endedInExecute;
        this.#endedInExecute = undefined;
        if (done !== undefined) this.#afterResponse(done);
        return;
      }
    }
    this.#fed = true;
    const r = this.parser.execute(chunk);
    this.#inExecute = false;
    const ended = this.#endedInExecute;
    this.#endedInExecute = undefined;
    if (typeof r !== 'number') {
      const ex = this.current;
      this.destroy();
      ex?.fail(upstreamError(`bad response from the backend: ${r.code ?? r.message}`, 'UND_ERR_SOCKET', this.socket));
      return;
    }
    if (ended !== undefined) this.#afterResponse(ended);
  }

  /** What llhttp's callbacks would do for the response `head` (the body is the rest of `chunk`). */
  #fastResponse(head: FastResponseHead, chunk: Buffer): void {
    const ex = this.current!;
    this.#onHead(head.headers, head.status, head.reason, false, head.keepAlive, head.minor);
    if (this.current !== ex || !ex.started) return;
    // A copy: the chunk is a view of the shared read buffer, and a paused handler keeps it.
    if (head.bodyStart < chunk.length) ex.data(Buffer.from(chunk.subarray(head.bodyStart)));
    this.#onComplete();
  }

  #onEnd(): void {
    const ex = this.current;
    if (ex !== undefined && ex.started && !ex.over) {
      // A body delimited by the connection's close ends here (or is cut short).
      const r = this.parser.finish();
      if (r !== undefined && typeof r !== 'number') {
        this.destroy();
        ex.fail(upstreamError('the backend closed the connection in the middle of the response', 'UND_ERR_SOCKET', this.socket));
        return;
      }
    }
    this.destroy();
  }

  #lost(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#idleTimer);
    this.socket.destroy();
    this.pool.gone(this);
    const ex = this.current;
    this.current = undefined;
    if (ex !== undefined && !ex.over) {
      const e = err !== undefined && (err as { code?: string }).code !== undefined
        ? Object.assign(err, { socket: { bytesRead: this.socket.bytesRead } })
        : upstreamError('other side closed', 'UND_ERR_SOCKET', this.socket);
      ex.fail(e);
    }
  }

  /** Writes a request on this (connected, idle) connection. */
  send(ex: Exchange, head: string, body: Buffer | null): void {
    this.current = ex;
    this.#complete = false;
    this.#fed = false;
    this.#idleFrom = 0;
    ex.handler.onRequestStart?.(ex.controller, null);
    if (ex.over) return;
    ex.sent = true;
    if (body === null || body.length === 0) {
      const text = `${head}\r\n`;
      if (!directWrite(this.socket, text)) this.socket.write(text, 'latin1');
    }
    else {
      this.socket.cork();
      this.socket.write(`${head}\r\n`, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    }
    ex.handler.onRequestSent?.();
  }

  /** The exchange got its whole response: the connection is free again (or closes). */
  released(ex: Exchange): void {
    if (this.current !== ex) return;
    if (this.#inExecute) {
      this.#endedInExecute = ex;
      return;
    }
    this.#afterResponse(ex);
  }

  #afterResponse(ex: Exchange): void {
    if (this.current !== ex) return;
    this.current = undefined;
    if (this.closeAfter || this.#poisoned || (ex.head && ex.sent) || this.closed) {
      this.destroy();
      return;
    }
    this.pool.idle(this);
  }

  destroy(): void {
    this.#lost(undefined);
  }

  /**
   * Idle from now: closed after `ms` unless it is used again. One timer per connection, not
   * re-armed per request: when it fires it checks how long the connection has really been idle.
   */
  markIdle(ms: number): void {
    const now = Date.now();
    this.#idleFrom = now;
    this.#idleLimit = ms;
    // A shorter limit than the running timer's (a backend's Keep-Alive hint) re-arms it.
    if (this.#idleTimer !== undefined && this.#timerAt <= now + ms) return;
    clearTimeout(this.#idleTimer);
    this.#timerAt = now + ms;
    this.#idleTimer = setTimeout(idleExpired, ms, this);
    this.#idleTimer.unref();
  }

  /** @internal */
  idleCheck(): void {
    this.#idleTimer = undefined;
    if (this.closed) return;
    const left = this.#idleFrom === 0 ? this.#idleLimit : this.#idleFrom + this.#idleLimit - Date.now();
    if (left > 0) {
      this.#timerAt = Date.now() + left;
      this.#idleTimer = setTimeout(idleExpired, left, this);
      this.#idleTimer.unref();
    } else if (this.current === undefined) this.destroy();
  }
}

function idleExpired(conn: Conn): void {
  conn.idleCheck();
}

export class H1Pool {
  readonly #opts: H1PoolOptions;
  readonly #defaultHost: string;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  #dialing = 0;
  readonly #queue: { opts: Dispatcher.DispatchOptions; handler: Handler; head: string; body: Buffer | null }[] = [];
  #fallback: Dispatcher | undefined = undefined;
  #closing: (() => void) | undefined = undefined;
  #closed = false;
  /** Idle time of a kept-alive connection (a backend's shorter hint wins). */
  readonly keepAliveTimeoutMs: number;

  constructor(opts: H1PoolOptions) {
    this.#opts = opts;
    this.keepAliveTimeoutMs = opts.keepAliveTimeoutMs;
    this.#defaultHost = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const body = opts.body;
    if (body !== null && body !== undefined && !Buffer.isBuffer(body)) {
      this.#fallback ??= this.#opts.fallback();
      return this.#fallback.dispatch(opts, handler);
    }
    if (this.#closed) {
      handler.onResponseError?.(new Controller(undefined as never), upstreamError('the pool is closed', 'UND_ERR_CLOSED'));
      return false;
    }
    const buf = (body as Buffer | null | undefined) ?? null;
    const head = requestHead(opts, this.#defaultHost, buf);
    if (typeof head !== 'string') {
      handler.onResponseError?.(new Controller(undefined as never), head);
      return false;
    }
    if (this.#queue.length === 0) {
      // The common case: a connection is free and nobody waits before this request.
      const conn = this.#idle.pop();
      if (conn !== undefined) {
        conn.send(new Exchange(conn, handler, opts.method === 'HEAD'), head, buf);
        return true;
      }
    }
    this.#queue.push({ opts, handler, head, body: buf });
    this.#pump();
    return true;
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const conn = this.#idle.pop();
      if (conn === undefined) break;
      const q = this.#queue.shift()!;
      conn.send(new Exchange(conn, q.handler, q.opts.method === 'HEAD'), q.head, q.body);
    }
    const max = this.#opts.connections || Infinity;
    let room = max - this.#all.size - this.#dialing;
    while (this.#queue.length > this.#dialing && room-- > 0) this.#dial();
    this.#checkClosed();
  }

  #dial(): void {
    this.#dialing++;
    const o = this.#opts;
    const holder: { conn?: Conn } = {};
    const socket = connect({
      host: o.host, port: o.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000,
      onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array): boolean => {
        holder.conn?.onData((buf as Buffer).subarray(0, n));
        return true;
      } },
    });
    // Counted against the proxy's connection budget (overload.ts) until it closes.
    trackBackendSocket(socket);
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#dialing--;
      socket.removeListener('error', onError);
      if (err !== undefined) {
        socket.destroy();
        // The oldest waiting request learns why; the others wait for another connection.
        const q = this.#queue.shift();
        q?.handler.onResponseError?.(new Controller(undefined as never), err);
        this.#pump();
        return;
      }
      const conn = new Conn(this, socket, o.maxHeaderSize);
      holder.conn = conn;
      conn.connected = true;
      this.#all.add(conn);
      this.idle(conn);
    };
    const onError = (err: Error): void => settle(err);
    const timer = setTimeout(() => settle(upstreamError(`connect timeout after ${o.dialTimeoutMs} ms`, 'UND_ERR_CONNECT_TIMEOUT')), o.dialTimeoutMs);
    socket.once('connect', () => settle(undefined));
    socket.once('error', onError);
  }

  /** @internal A connection is free. */
  idle(conn: Conn): void {
    if (this.#closed || this.#closing !== undefined) {
      if (this.#queue.length === 0) {
        conn.destroy();
        return;
      }
    }
    const q = this.#queue.shift();
    if (q !== undefined) {
      conn.send(new Exchange(conn, q.handler, q.opts.method === 'HEAD'), q.head, q.body);
      return;
    }
    this.#idle.push(conn);
    conn.markIdle(conn.idleMs ?? this.#opts.keepAliveTimeoutMs);
  }

  /** @internal A connection closed. */
  gone(conn: Conn): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.#queue.length > 0 && !this.#closed) this.#pump();
    this.#checkClosed();
  }

  #checkClosed(): void {
    if (this.#closing === undefined || this.#queue.length > 0 || this.#dialing > 0) return;
    for (const c of this.#idle.splice(0)) c.destroy();
    const done = this.#closing;
    if (this.#all.size === 0 && done !== undefined) {
      this.#closing = undefined;
      this.#closed = true;
      done();
    }
  }

  /** Lets queued and in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    const fallback = this.#fallback?.close();
    if (this.#closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const prev = this.#closing;
    this.#closing = () => {
      prev?.();
      resolve();
    };
    this.#checkClosed();
    return fallback === undefined ? promise : Promise.all([promise, fallback]).then(() => {});
  }

  destroy(): Promise<void> {
    this.#closed = true;
    const err = upstreamError('the pool was destroyed', 'UND_ERR_DESTROYED');
    for (const q of this.#queue.splice(0)) q.handler.onResponseError?.(new Controller(undefined as never), err);
    for (const c of this.#all) c.destroy();
    const done = this.#closing;
    this.#closing = undefined;
    done?.();
    return this.#fallback?.destroy() ?? Promise.resolve();
  }
}
