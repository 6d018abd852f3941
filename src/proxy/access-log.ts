/**
 * The JSON access log: one line per finished request (or closed upgrade tunnel), and one per TCP
 * connection or UDP session when it closes (or a TCP connection turned away). Lines are
 * formatted when the exchange finishes, collected for the rest of the event-loop turn and
 * handed to the sink in chunks of whole lines of at most PIPE_BUF bytes, so several writers
 * sharing one stdout pipe (worker threads, processes) never interleave within a line. Nothing
 * here blocks on I/O: the default sink writes asynchronously (access-log-writer.ts).
 */
import { pathEnd, pathStart } from '../expr/request.ts';
import type { Exchange, ExchangeLog } from './http/exchange.ts';
import { rawHeader } from './http/headers.ts';
import { isValidTraceparent } from './trace.ts';
import type { IdentityEntry } from '../table/index.ts';
import type { L4Connection } from './types.ts';

/** Where lines go: any object with `write(chunk)` (a stream, or the fd writer). */
export interface AccessLogSink {
  /** Called with one or more whole lines, each ending in `\n`. */
  write(chunk: string): unknown;
  /** Resolves once everything written so far has left the process (optional). */
  idle?(): Promise<void>;
}

/** Largest chunk handed to the sink: writes up to PIPE_BUF (Linux: 4096) to a pipe are atomic. */
export const MAX_CHUNK_BYTES = 4096;
/** How long finished requests' lines wait to be written together, at most. */
const FLUSH_MS = 10;
/** Lines that are written at once without waiting for `FLUSH_MS` (about 16 chunks). */
const FLUSH_LINES = 256;

/** A JSON string literal; the common plain-ASCII text skips the general (slower) encoder. */
function q(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

const TIME_ORIGIN = performance.timeOrigin;
let secondStart = -1;
let secondText = '';

/** `performance.now()`-based time as RFC 3339 UTC with milliseconds; the date part is formatted once a second. */
function isoTime(monotonic: number): string {
  const ms = Math.floor(TIME_ORIGIN + monotonic);
  const sec = ms - (ms % 1000);
  if (sec !== secondStart) {
    secondStart = sec;
    secondText = new Date(sec).toISOString().slice(0, 20);
  }
  const frac = ms - sec;
  return `${secondText}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** Milliseconds with microsecond precision, formatted from integers (float printing is slow). */
function millis(ms: number): string {
  const us = Math.round(ms * 1000);
  const frac = us % 1000;
  return `${(us - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** The request path without the query, as received (absolute-form targets lose scheme and host). */
export function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  const start = pathStart(url);
  const end = pathEnd(url, start);
  return start === 0 && end === url.length ? url : url.slice(start, end) || '/';
}

/** The incoming traceparent when it is valid (requests that never reached a backend). */
function incomingTrace(ex: Exchange): string | undefined {
  const v = rawHeader(ex.req.rawHeaders, 'traceparent');
  return v !== undefined && isValidTraceparent(v) ? v : undefined;
}

/** One access log line for a finished exchange, `\n` included. */
export function accessLine(ex: Exchange, now: number): string {
  const ua = rawHeader(ex.req.rawHeaders, 'user-agent');
  const trace = ex.traceparent ?? incomingTrace(ex);
  const bytesIn = ex.body !== undefined ? ex.body.length : ex.bytesIn;
  let line = `{"time":"${isoTime(ex.start)}","route":${q(ex.route.id)},"method":${q(ex.method)},"path":${q(pathOf(ex.req.url))},` +
    `"status":${ex.status},"durationMs":${millis(now - ex.start)},"bytesIn":${bytesIn},"bytesOut":${ex.bytesOut},` +
    `"backend":${ex.backend === undefined ? 'null' : q(ex.backend.cluster.id)},` +
    `"endpoint":${ex.endpoint === undefined ? 'null' : q(ex.endpoint.key)},` +
    `"client":${q(ex.client ?? 'unknown')},"userAgent":${ua === undefined ? 'null' : q(ua)},` +
    `"traceparent":${trace === undefined ? 'null' : q(trace)}`;
  if (ex.attempts > 1) line += `,"retries":${ex.attempts - 1}`;
  const id = ex.identity();
  if (id !== undefined) line += `,"identity":${q(`${id.namespace}/${id.serviceAccount}`)}`;
  return `${line}}\n`;
}

/**
 * One access log line for a TCP connection or UDP session, `\n` included: `result` is `closed`
 * for one that was relayed, `failed` for a TCP connection reset because no endpoint answered,
 * `denied` for one ACL mode turned away. `identity` is the client's `namespace/serviceAccount`
 * when the identity map knows it.
 */
export function connectionLine(route: string, cluster: string | undefined, conn: L4Connection, result: ConnectionResult, now: number, identity?: string): string {
  return `{"time":"${isoTime(conn.start)}","route":${q(route)},"protocol":"${conn.protocol}","result":"${result}",` +
    `"durationMs":${millis(now - conn.start)},"bytesIn":${conn.bytesIn},"bytesOut":${conn.bytesOut},` +
    `"backend":${cluster === undefined ? 'null' : q(cluster)},"endpoint":${conn.endpoint === undefined ? 'null' : q(conn.endpoint.key)},` +
    `"client":${q(conn.client)}${identity === undefined ? '' : `,"identity":${q(identity)}`}}\n`;
}

export type ConnectionResult = 'closed' | 'failed' | 'denied';

export class AccessLog implements ExchangeLog {
  readonly #sink: AccessLogSink;
  readonly #onError: (err: unknown) => void;
  /** The client identity of a connection's address (the engine's identity map), for L4 lines. */
  identify: ((client: string) => IdentityEntry | undefined) | undefined = undefined;
  #lines: string[] = [];
  #scheduled: NodeJS.Timeout | undefined = undefined;
  readonly #flush = (): void => this.flush();

  /** `onError` hears about a line that could not be formatted or a sink that threw. */
  constructor(sink: AccessLogSink, onError: (err: unknown) => void = () => {}) {
    this.#sink = sink;
    this.#onError = onError;
  }

  record(ex: Exchange): void {
    let line: string;
    try {
      line = accessLine(ex, performance.now());
    } catch (err) {
      // Logging must never cost the request (or the process) anything.
      this.#onError(err);
      return;
    }
    this.#push(line);
  }

  /** A TCP connection or UDP session ended (see `connectionLine`). */
  recordConnection(route: string, cluster: string | undefined, conn: L4Connection, result: ConnectionResult): void {
    let line: string;
    try {
      const id = this.identify?.(conn.client);
      line = connectionLine(route, cluster, conn, result, performance.now(), id === undefined ? undefined : `${id.namespace}/${id.serviceAccount}`);
    } catch (err) {
      this.#onError(err);
      return;
    }
    this.#push(line);
  }

  #push(line: string): void {
    this.#lines.push(line);
    // Lines are collected for a few milliseconds (or a few chunks' worth), not one event-loop
    // turn: each flush is a write system call, which cost more than the lines themselves.
    if (this.#lines.length >= FLUSH_LINES) this.flush();
    else this.#scheduled ??= setTimeout(this.#flush, FLUSH_MS);
  }

  /** Hands the collected lines to the sink now, in chunks of whole lines. */
  flush(): void {
    if (this.#scheduled !== undefined) {
      clearTimeout(this.#scheduled);
      this.#scheduled = undefined;
    }
    const lines = this.#lines;
    if (lines.length === 0) return;
    this.#lines = [];
    let chunk = '';
    let bytes = 0;
    try {
      for (const line of lines) {
        const n = Buffer.byteLength(line);
        if (bytes > 0 && bytes + n > MAX_CHUNK_BYTES) {
          this.#sink.write(chunk);
          chunk = '';
          bytes = 0;
        }
        chunk += line;
        bytes += n;
      }
      this.#sink.write(chunk);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Flushes and waits until the sink has written everything (call when the engine closes). */
  async close(): Promise<void> {
    this.flush();
    await this.#sink.idle?.();
  }
}
