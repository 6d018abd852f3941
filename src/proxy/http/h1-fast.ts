/**
 * The fast path of an HTTP/1 client connection: plain requests without a body (the common case)
 * are read, answered and kept alive here on the raw socket, without node:http's per-request
 * objects. Anything else goes to node:http, which takes the connection from the first byte of
 * that request on, for the rest of its life: a head still not complete after `MAX_HEAD_READS`
 * reads, one this reader does not accept (see `readHead`), a body, an upgrade, `Expect`, an
 * absolute-form target, obs-text, a large head. (A partial head waits here for its rest; the
 * client's FIN or the head timeout meanwhile get node:http's own 400 or 408.) So node:http's strict parser (llhttp) still answers every
 * malformed or unusual request; this reader only ever accepts heads that llhttp parses the same
 * way (test/proxy/h1-fast.property.test.ts holds it to that).
 *
 * Pipelined requests are taken one at a time, in order, as node:http does for the proxy.
 * Responses are framed the way ServerResponse frames them (Date, Connection, Keep-Alive,
 * Content-Length or chunked), and written with as few writes as the stages allow: a head held
 * until the first body bytes or the end, and written with them in one write.
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { directWrite } from './direct-write.ts';
import { BAD_VALUE, TCHAR, TOKEN, VALUE, isTokenName } from './h1-syntax.ts';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { STATUS_CODES } = process.getBuiltinModule('node:http');

/** What the fast path needs from the listener that owns the connection. */
export interface FastHost {
  /** Runs one request (creates its exchange on the current route). */
  serve(req: FastRequest, res: FastResponse): void;
  /** Gives the connection to node:http, `pending` (the unread bytes) first. */
  fallback(socket: Socket, pending: Buffer | undefined): void;
  draining(): boolean;
  readonly keepAliveTimeoutMs: number;
  /** node:http's head size limit: the fast path takes heads well under it (see `fastHeadLimit`). */
  readonly maxHeaderSize: number;
  /** How long a request head may take to arrive whole (node:http's `headersTimeout`). */
  readonly headersTimeoutMs: number;
  /** Gone (closed, or handed to node:http): forget it. */
  released(conn: FastConnection): void;
}

/** The longest head taken here; longer ones (and the 431 they may earn) are node:http's. */
const MAX_FAST_HEAD = 8192;

/** Heads up to this size are taken here: half of node:http's limit (it counts differently), at most 8 KiB. */
export function fastHeadLimit(maxHeaderSize: number): number {
  return Math.min(MAX_FAST_HEAD, Math.floor(maxHeaderSize / 2));
}
/** More header lines than this go to node:http (it caps and may drop headers past 2,000). */
const MAX_FAST_HEADERS = 64;
/** Bytes read ahead (pipelining) before the connection stops reading until it catches up. */
const MAX_PENDING = 65536;
/**
 * Reads a partial head may take here before node:http gets it: each read re-reads the head
 * from its start, so a head trickled in many small reads (slowloris) goes to llhttp, which
 * parses incrementally (and times it from then on).
 */
export const MAX_HEAD_READS = 4;

/** What node:http answers (listener.ts `onClientError`) to a head cut by the client's FIN, and to one too slow. */
export const EOF_IN_HEAD = 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
export const HEAD_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** Origin-form target bytes accepted here: visible ASCII except `#` (node:http takes the rest). */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) if (c !== 0x23) TARGET[c] = 1;

/** Methods taken here (all without a body: a request with one goes to node:http). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

/** Header names after which node:http takes the request (framing, protocol switches, 100-continue). */
const NOT_HERE: Readonly<Record<string, true>> = {
  __proto__: null as never,
  'transfer-encoding': true,
  'upgrade': true,
  'expect': true,
  'http2-settings': true,
  'te': true,
  'trailer': true,
  'proxy-connection': true,
  'keep-alive': true,
};

/** Bit n set: some header name this reader looks at (NOT_HERE, host, content-length, connection) has n characters. */
const LOOKED_AT_LENGTHS = [...Object.keys(NOT_HERE), 'host', 'content-length', 'connection'].reduce((bits, name) => bits | (1 << name.length), 0);

/** Where node:http keeps the first of repeated headers only (IncomingMessage#headers). */
const FIRST_ONLY: ReadonlySet<string> = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/** The header object node:http builds from raw headers (lower-case names, its joining rules). */
export function headerObject(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prev as string[]).push(value);
    else if (FIRST_ONLY.has(name)) continue;
    else out[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** A parsed request head, as the fast path accepts it. */
export interface FastHead {
  method: string;
  url: string;
  minor: 0 | 1;
  rawHeaders: string[];
  keepAlive: boolean;
  /** Bytes the head took, final CRLF included. */
  length: number;
}

/**
 * Reads one request head from the start of `buf`: a FastHead, `undefined` when the head is not
 * complete yet (or is longer than the fast path takes), or `null` when node:http must take it.
 * Only heads llhttp parses to the same method, target, version and header list are accepted.
 */
export function readHead(buf: Buffer, maxHead = MAX_FAST_HEAD): FastHead | undefined | null {
  const n = Math.min(buf.length, maxHead);
  // One string for the head (one call into C++); method, target, names and values are slices.
  const text = buf.toString('latin1', 0, n);
  // Request line: method SP target SP HTTP/1.x CRLF
  let i = 0;
  while (i < n && text.charCodeAt(i) >= 0x41 && text.charCodeAt(i) <= 0x5a) i++;
  if (i === n) return undefined;
  if (text.charCodeAt(i) !== SP || i === 0) return null;
  const method = text.slice(0, i);
  if (!METHODS.has(method)) return null;
  const t0 = ++i;
  if (text.charCodeAt(i) !== 47 /* / */) return i < n ? null : undefined;
  while (i < n && TARGET[text.charCodeAt(i)] === 1) i++;
  if (i === n) return undefined;
  if (text.charCodeAt(i) !== SP) return null;
  const url = text.slice(t0, i);
  i++;
  if (i + 10 > n) return n === buf.length ? undefined : null;
  if (text.charCodeAt(i) !== 0x48 || text.charCodeAt(i + 1) !== 0x54 || text.charCodeAt(i + 2) !== 0x54 || text.charCodeAt(i + 3) !== 0x50 || text.charCodeAt(i + 4) !== 47 || text.charCodeAt(i + 5) !== 0x31 || text.charCodeAt(i + 6) !== 46) return null;
  const minorByte = text.charCodeAt(i + 7);
  if ((minorByte !== 0x30 && minorByte !== 0x31) || text.charCodeAt(i + 8) !== CR || text.charCodeAt(i + 9) !== LF) return null;
  const minor = minorByte === 0x31 ? 1 : 0;
  i += 10;
  const rawHeaders: string[] = [];
  let hosts = 0;
  let close = false;
  let keepAliveToken = false;
  for (;;) {
    if (i + 1 >= n) return n === buf.length ? undefined : null;
    if (text.charCodeAt(i) === CR) {
      if (text.charCodeAt(i + 1) !== LF) return null;
      i += 2;
      break;
    }
    if (rawHeaders.length >= MAX_FAST_HEADERS * 2) return null;
    const s = i;
    while (i < n && TCHAR[text.charCodeAt(i)] === 1) i++;
    if (i === n) return n === buf.length ? undefined : null;
    if (text.charCodeAt(i) !== COLON || i === s) return null;
    const name = text.slice(s, i);
    i++;
    while (i < n && (text.charCodeAt(i) === SP || text.charCodeAt(i) === HTAB)) i++;
    const v0 = i;
    while (i < n && VALUE[text.charCodeAt(i)] === 1) i++;
    if (i + 1 >= n) return n === buf.length ? undefined : null;
    if (text.charCodeAt(i) !== CR || text.charCodeAt(i + 1) !== LF) return null;
    // Trailing whitespace: llhttp trims it; leave that to node:http rather than trim alike here.
    if (i > v0 && (text.charCodeAt(i - 1) === SP || text.charCodeAt(i - 1) === HTAB)) return null;
    const value = text.slice(v0, i);
    i += 2;
    const len = name.length;
    if (len >= 20) return null;
    // Only names as long as one looked at below (or in NOT_HERE) need their lower case.
    if ((LOOKED_AT_LENGTHS & (1 << len)) === 0) {
      rawHeaders.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (NOT_HERE[lower] === true) return null;
    if (lower === 'host') hosts++;
    else if (lower === 'content-length') {
      // A body is node:http's; a zero length is the only one taken here, and only once.
      if (value !== '0' || rawHeaders.some((x, k) => k % 2 === 0 && x.toLowerCase() === 'content-length')) return null;
    } else if (lower === 'connection') {
      const v = value.toLowerCase();
      if (v === 'close') close = true;
      else if (v === 'keep-alive') keepAliveToken = true;
      else return null;
    }
    rawHeaders.push(name, value);
  }
  // HTTP/1.1 needs exactly one Host (node:http answers 400 without; two are refused later).
  if (minor === 1 ? hosts !== 1 : hosts > 1) return null;
  // Both tokens in an HTTP/1.0 head: llhttp keeps such a connection alive where close would
  // win here; node:http's answer is the one to keep, so it gets the head.
  if (minor === 0 && close && keepAliveToken) return null;
  const keepAlive = minor === 1 ? !close : keepAliveToken && !close;
  return { method, url, minor, rawHeaders, keepAlive, length: i };
}

/** The request as the stages read it (the IncomingMessage fields they use). */
export class FastRequest {
  readonly method: string;
  url: string;
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** No body: complete and ended from the start. */
  readonly complete = true;
  readonly readableEnded = true;
  #headers: Record<string, string | string[]> | undefined = undefined;

  constructor(head: FastHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.httpVersionMinor = head.minor;
    this.httpVersion = head.minor === 1 ? '1.1' : '1.0';
    this.rawHeaders = head.rawHeaders;
    this.socket = socket;
  }

  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.rawHeaders));
  }
}



interface HeadState {
  text: string;
  date: boolean;
  connection: boolean;
  contentLength: boolean;
  te: boolean;
  close: boolean;
  chunked: boolean;
}

/** Adds one header (a value or a list) to a response head, checked as node:http checks it. */
function addHeader(h: HeadState, name: string, value: unknown): void {
  if (value === undefined) return;
  if (!isTokenName(name)) throw headerError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
  if (typeof value === 'string') {
    if (BAD_VALUE.test(value)) throw headerError('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
    h.text += `${name}: ${value}\r\n`;
  } else if (Array.isArray(value)) {
    for (const one of value as unknown[]) addHeader(h, name, String(one));
    return;
  } else {
    addHeader(h, name, String(value));
    return;
  }
  // The names that change the framing: date (4), connection (10), content-length (14), transfer-encoding (17).
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 14 && n !== 17) return;
  const lower = name.toLowerCase();
  if (lower === 'date') h.date = true;
  else if (lower === 'connection') {
    h.connection = true;
    if (/(?:^|\W)close(?:$|\W)/i.test(value)) h.close = true;
  } else if (lower === 'content-length') h.contentLength = true;
  else if (lower === 'transfer-encoding') {
    h.te = true;
    if (/(?:^|\W)chunked(?:$|\W)/i.test(value)) h.chunked = true;
  }
}

function headerError(code: string, message: string): Error {
  return Object.assign(new TypeError(message), { code });
}

let dateCache = '';
let dateCachedAt = 0;
/** The Date header's value, recomputed at most once a second (as node:http does). */
function httpDate(): string {
  const now = Date.now();
  if (now - dateCachedAt >= 1000 || dateCache === '') {
    dateCachedAt = now - (now % 1000);
    dateCache = new Date(dateCachedAt).toUTCString();
  }
  return dateCache;
}

/** The response as the proxy writes it (the ServerResponse calls it makes). */
export class FastResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  /** False makes this response the connection's last (Connection: close). */
  shouldKeepAlive: boolean;
  writableEnded = false;
  readonly #conn: FastConnection;
  readonly #socket: Socket;
  readonly #head: boolean;
  readonly #minor: number;
  #hasBody = true;
  #chunked = false;
  /** Bytes not written yet (the head, until the first body bytes or the end), written at once. */
  #out: (string | Buffer)[] = [];
  #outBytes = 0;
  #closed = false;
  #trailers: string | undefined = undefined;
  #waitingDrain = false;
  /**
   * Told when the connection goes before the response is over (the listener's exchange): the
   * same as a 'close' listener, without the per-request listener and the deferred 'close'.
   */
  owner: { readonly done: boolean; clientGone(): void } | undefined = undefined;

  constructor(conn: FastConnection, socket: Socket, req: FastRequest, keepAlive: boolean) {
    super();
    this.#conn = conn;
    this.#socket = socket;
    this.#head = req.method === 'HEAD';
    this.#minor = req.httpVersionMinor;
    this.shouldKeepAlive = keepAlive;
  }

  get writableLength(): number {
    return this.#outBytes + this.#socket.writableLength;
  }

  writeHead(status: number, headers?: readonly string[] | Readonly<Record<string, string | string[] | number | undefined>>): this {
    if (this.headersSent) throw headerError('ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    const h: HeadState = { text: `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`, date: false, connection: false, contentLength: false, te: false, close: false, chunked: false };
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) addHeader(h, headers[i] as string, headers[i + 1]);
    } else if (headers !== undefined) {
      const obj = headers as Readonly<Record<string, unknown>>;
      for (const name in obj) addHeader(h, name, obj[name]);
    }
    const date = h.date;
    const connection = h.connection;
    const contentLength = h.contentLength;
    const te = h.te;
    let head = h.text;
    if (h.close) this.shouldKeepAlive = false;
    if (h.chunked) this.#chunked = true;
    this.statusCode = status;
    if (this.#head || status === 204 || status === 304 || (status >= 100 && status <= 199)) this.#hasBody = false;
    if (!date) head += `Date: ${httpDate()}\r\n`;
    // As node:http frames it: HTTP/1.0 clients get no chunked encoding, so a body of unknown
    // length ends with the connection.
    const chunkedByDefault = this.#minor === 1;
    if (!connection) {
      if (this.shouldKeepAlive && (contentLength || chunkedByDefault)) {
        head += 'Connection: keep-alive\r\n';
        const ka = this.#conn.keepAliveSeconds;
        if (ka > 0) head += `Keep-Alive: timeout=${ka}\r\n`;
      } else {
        this.shouldKeepAlive = false;
        head += 'Connection: close\r\n';
      }
    }
    if (!contentLength && !te) {
      if (!this.#hasBody) this.#chunked = false;
      else if (!chunkedByDefault) this.shouldKeepAlive = false;
      else {
        head += 'Transfer-Encoding: chunked\r\n';
        this.#chunked = true;
      }
    }
    this.headersSent = true;
    this.#queue(`${head}\r\n`);
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.#closed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (!this.#hasBody || len === 0) return true;
    if (this.#chunked) {
      this.#queue(`${len.toString(16)}\r\n`);
      this.#queue(chunk);
      this.#queue('\r\n');
    } else this.#queue(chunk);
    // The held head goes out with the first body bytes, in one write (node:http holds it too).
    this.#flush();
    if (this.#socket.writableLength + this.#outBytes < this.#socket.writableHighWaterMark) return true;
    if (!this.#waitingDrain) {
      this.#waitingDrain = true;
      this.#socket.once('drain', () => {
        this.#waitingDrain = false;
        if (!this.#closed) this.emit('drain');
      });
    }
    return false;
  }

  addTrailers(trailers: Readonly<Record<string, string>>): void {
    let t = '';
    for (const name in trailers) {
      const v = trailers[name]!;
      if (!TOKEN.test(name)) throw headerError('ERR_INVALID_HTTP_TOKEN', `Trailer name must be a valid HTTP token ["${name}"]`);
      if (BAD_VALUE.test(v)) throw headerError('ERR_INVALID_CHAR', `Invalid character in trailer content ["${name}"]`);
      t += `${name}: ${v}\r\n`;
    }
    this.#trailers = t;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded || this.#closed) return this;
    if (!this.headersSent) {
      // As node:http does for a body given whole to end(): its length is known.
      const len = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.writeHead(this.statusCode, this.#head || this.statusCode === 204 || this.statusCode === 304 ? [] : ['Content-Length', String(len)]);
    }
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = true;
    if (this.#chunked) this.#queue(`0\r\n${this.#trailers ?? ''}\r\n`);
    this.#flush();
    this.#conn.responseDone(this);
    return this;
  }

  /** Cuts the connection (a response that cannot be completed); 'close' follows the socket's. */
  destroy(): this {
    this.#socket.destroy();
    return this;
  }

  /** @internal The response is over (written, or the connection is gone): 'close', once. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const owner = this.owner;
    if (owner !== undefined && !owner.done) owner.clientGone();
    this.emit('close');
  }

  /** @internal Written whole, and nobody listens for 'close': nothing to tell. */
  over(): void {
    this.#closed = true;
  }

  #queue(data: string | Buffer): void {
    this.#out.push(data);
    this.#outBytes += data.length;
  }

  #flush(): void {
    const out = this.#out;
    if (out.length === 0) return;
    const socket = this.#socket;
    this.#out = [];
    const bytes = this.#outBytes;
    this.#outBytes = 0;
    if (socket.destroyed || !socket.writable) return;
    if (out.length === 1) {
      const one = out[0]!;
      if (directWrite(socket, one)) return;
      if (typeof one === 'string') socket.write(one, 'latin1');
      else socket.write(one);
      return;
    }
    if (bytes <= 16384) {
      // One write for the head and a small body: one syscall, one segment.
      const buf = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const part of out) at += typeof part === 'string' ? buf.write(part, at, 'latin1') : part.copy(buf, at);
      if (!directWrite(socket, buf)) socket.write(buf);
      return;
    }
    socket.cork();
    for (const part of out) {
      if (typeof part === 'string') socket.write(part, 'latin1');
      else socket.write(part);
    }
    socket.uncork();
  }
}

/**
 * Node's own keys for a socket that reads into a buffer it was given (net.Socket's `onread`
 * option), found on a probe socket: accepted sockets cannot be given that option, so the fast
 * path sets it on them the way the option would. Undefined where this Node has no such keys
 * (then connections read as plain streams, as before).
 */
const OWN_BUFFER = ((): { buffer: symbol; callback: symbol } | undefined => {
  try {
    const probe = new Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } });
    const keys = Object.getOwnPropertySymbols(probe);
    const buffer = keys.find((k) => k.description === 'kBuffer');
    const callback = keys.find((k) => k.description === 'kBufferCb');
    const gen = keys.find((k) => k.description === 'kBufferGen');
    probe.destroy();
    return buffer !== undefined && callback !== undefined && gen !== undefined ? { buffer, callback } : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Every fast connection reads into this one buffer: a read is handled before the next one can
 * happen (and what must outlive it is copied), so reads allocate nothing and skip the stream's
 * per-chunk machinery.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Reads into READ_BUFFER from now on, delivered to `onRead` (false when not possible here). */
function readIntoShared(socket: Socket, onRead: (n: number, buf: Buffer) => boolean): boolean {
  // oxlint-disable-next-line no-underscore-dangle -- net.Socket's own handle, read on purpose
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null })._handle;
  if (OWN_BUFFER === undefined || typeof handle?.useUserBuffer !== 'function') return false;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[OWN_BUFFER.buffer] !== null) return false;
  s[OWN_BUFFER.buffer] = READ_BUFFER;
  s[OWN_BUFFER.callback] = onRead;
  handle.useUserBuffer(READ_BUFFER);
  return true;
}

/** `buf` itself, or a copy when it is a view of the shared read buffer (it is kept past the read). */
function own(buf: Buffer): Buffer {
  return buf.buffer === READ_BUFFER.buffer ? Buffer.from(buf) : buf;
}

function closeResponse(res: FastResponse): void {
  res.closed();
}

/** One client connection while the fast path has it. */
export class FastConnection {
  readonly socket: Socket;
  readonly #host: FastHost;
  #pending: Buffer | undefined = undefined;
  #current: FastResponse | undefined = undefined;
  #idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Date.now() when the connection last became idle; 0 while a request is being served. */
  #idleFrom = 0;
  #gone = false;
  #paused = false;
  /** Set while a partial head waits for its rest (from its first read, not reset by later ones). */
  #headTimer: NodeJS.Timeout | undefined = undefined;
  /** Reads the partial head has taken so far. */
  #headReads = 0;
  readonly keepAliveSeconds: number;
  readonly #maxHead: number;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  /** Reads into the shared buffer (see READ_BUFFER); once handed over, as a plain stream's. */
  readonly #onRead = (n: number, buf: Buffer): boolean => {
    const chunk = buf.subarray(0, n);
    // node:http reads the handle itself; when it gives it back (an upgrade), the bytes go to
    // whoever listens, as they would without the shared buffer.
    if (this.#gone) return this.socket.push(Buffer.from(chunk));
    this.#data(chunk);
    const pending = this.#pending;
    if (pending !== undefined) this.#pending = own(pending);
    return true;
  };
  readonly #onEnd = (): void => this.#end();
  readonly #onClose = (): void => this.#close();

  constructor(socket: Socket, host: FastHost) {
    this.socket = socket;
    this.#host = host;
    this.keepAliveSeconds = Math.floor(host.keepAliveTimeoutMs / 1000);
    this.#maxHead = fastHeadLimit(host.maxHeaderSize);
    // 'data' still brings what the protocol sniffer read and put back (sniff.ts).
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    readIntoShared(socket, this.#onRead);
    socket.resume();
  }

  /** Closes the connection if no request is being served (the listener is draining). */
  closeIfIdle(): void {
    if (this.#current === undefined && !this.#gone) this.socket.destroy();
  }

  #data(chunk: Buffer): void {
    this.#pending = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#current !== undefined) {
      // Pipelined: read on only while what waits is small.
      if (this.#pending.length > MAX_PENDING && !this.#paused) {
        this.#paused = true;
        this.socket.pause();
      }
      return;
    }
    this.#next();
  }

  /** Takes the next request from what was read, or hands the connection over, or waits. */
  #next(): void {
    const buf = this.#pending;
    if (buf === undefined || buf.length === 0) {
      this.#pending = undefined;
      this.#armIdle();
      return;
    }
    this.#disarmIdle();
    const head = readHead(buf, this.#maxHead);
    if (head === undefined && buf.length < this.#maxHead && ++this.#headReads < MAX_HEAD_READS && !this.#host.draining()) {
      // Incomplete so far and well-formed: wait here for the rest, or for the client's FIN
      // (a client that sends half a head and closes costs no node:http connection).
      this.#headTimer ??= setTimeout(headTimeout, this.#host.headersTimeoutMs, this);
      return;
    }
    this.#stopHead();
    if (head === undefined || head === null || this.#host.draining()) {
      // Unusual, malformed, large or trickled: node:http takes it from here (and times a slow head).
      this.#handOver();
      return;
    }
    this.#pending = head.length === buf.length ? undefined : buf.subarray(head.length);
    const req = new FastRequest(head, this.socket);
    const res = new FastResponse(this, this.socket, req, head.keepAlive);
    this.#current = res;
    this.#host.serve(req, res);
  }

  /** @internal The response's last bytes are queued. */
  responseDone(res: FastResponse): void {
    if (this.#current !== res) return;
    this.#current = undefined;
    // 'close' comes after the exchange finished, as node:http emits it; the owner (the
    // exchange) finishes right after end(), so it needs no deferred call.
    if (res.listenerCount('close') > 0) process.nextTick(closeResponse, res);
    else res.over();
    if (!res.shouldKeepAlive || this.#host.draining()) {
      this.socket.end();
      this.socket.once('finish', () => this.socket.destroy());
      return;
    }
    if (this.#gone) return;
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
    this.#next();
  }

  #handOver(): void {
    this.#gone = true;
    this.#stopIdle();
    this.#stopHead();
    const socket = this.socket;
    socket.removeListener('data', this.#onData);
    socket.removeListener('end', this.#onEnd);
    socket.removeListener('close', this.#onClose);
    socket.pause();
    const pending = this.#pending === undefined ? undefined : own(this.#pending);
    this.#pending = undefined;
    this.#host.released(this);
    this.#host.fallback(socket, pending);
  }

  #end(): void {
    if (this.#headTimer !== undefined && this.#current === undefined) {
      // The client closed its side in the middle of a head: node:http's answer (llhttp's EOF
      // error), without handing the connection to it.
      this.#refuse(EOF_IN_HEAD);
      return;
    }
    // The client closed its side: as node:http does, what is in flight is abandoned.
    this.socket.end();
  }

  /** Answers a head the fast path will not read on (the client's FIN, the head timeout) and closes. */
  #refuse(answer: string): void {
    this.#stopHead();
    this.#pending = undefined;
    const socket = this.socket;
    socket.removeListener('data', this.#onData);
    if (socket.writable) {
      socket.end(answer, 'latin1');
      socket.once('finish', () => socket.destroy());
    } else socket.destroy();
  }

  /** @internal The head did not arrive whole within the head timeout. */
  headExpired(): void {
    this.#headTimer = undefined;
    if (!this.#gone && this.#current === undefined) this.#refuse(HEAD_TIMEOUT);
  }

  #stopHead(): void {
    this.#headReads = 0;
    if (this.#headTimer !== undefined) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
  }

  #close(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#stopIdle();
    this.#stopHead();
    const res = this.#current;
    this.#current = undefined;
    res?.closed();
    this.#host.released(this);
  }

  /** node:http's idle limit: the advertised timeout plus its grace (keepAliveTimeoutBuffer). */
  get #idleMs(): number {
    return this.#host.keepAliveTimeoutMs + 1000;
  }

  // One timer per connection, not re-armed per request: when it fires it checks how long the
  // connection has really been idle.
  #armIdle(): void {
    if (this.#gone) return;
    this.#idleFrom = Date.now();
    if (this.#idleTimer === undefined) this.#idleTimer = setTimeout(idleTimeout, this.#idleMs, this);
  }

  #disarmIdle(): void {
    this.#idleFrom = 0;
  }

  #stopIdle(): void {
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  /** @internal */
  idleExpired(): void {
    this.#idleTimer = undefined;
    if (this.#gone) return;
    const left = this.#idleFrom === 0 ? this.#idleMs : this.#idleFrom + this.#idleMs - Date.now();
    if (left > 0) this.#idleTimer = setTimeout(idleTimeout, left, this);
    else if (this.#current === undefined) this.socket.destroy();
  }
}

function idleTimeout(conn: FastConnection): void {
  conn.idleExpired();
}

function headTimeout(conn: FastConnection): void {
  conn.headExpired();
}
