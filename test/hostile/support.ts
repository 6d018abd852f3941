/**
 * The hostile-client harness: a raw backend on loopback that records every byte it receives
 * (per connection) and answers each request it frames with a small 200, and a proxy engine in
 * front of it. Tests send raw bytes to the proxy and compare what the client got with exactly
 * what reached the backend.
 */
import { createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import type { ProxyLimits } from '../../src/proxy/limits.ts';
import type { ClusterEntry, RouteEntry } from '../../src/table/index.ts';
import { closeServer, connectSocket, engine, freePort, LOOPBACK, svc, table } from '../proxy/helpers.ts';
import type { ProxyEngine } from '../../src/proxy/engine.ts';

/** One request as the raw backend framed it. */
export interface Framed {
  /** The request line, e.g. `GET / HTTP/1.1`. */
  line: string;
  /** Header lines as received (name and value split at the first colon, names lower-cased). */
  headers: [string, string][];
  /** The body bytes, de-chunked. */
  body: Buffer;
}

/** What the backend does with a framed request: its reply bytes, or undefined to stay silent. */
export type Answer = (req: Framed, conn: RawConn) => string | Buffer | undefined;

export interface RawConn {
  readonly socket: Socket;
  /** Every byte received on this connection. */
  bytes: Buffer;
  /** Requests framed so far. */
  readonly requests: Framed[];
  /** The bytes could not be framed (the proxy sent something malformed). */
  broken: string | undefined;
  /** Bytes received but not yet framed into a complete request. */
  pending: number;
}

export interface RawBackend {
  readonly port: number;
  readonly conns: RawConn[];
  /** Every framed request, over all connections, in arrival order. */
  readonly requests: Framed[];
  /** Total bytes received. */
  bytes(): number;
  /** Connections currently open. */
  open(): number;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

export function header(req: Framed, name: string): string | undefined {
  const all = req.headers.filter(([n]) => n === name).map(([, v]) => v);
  return all.length === 0 ? undefined : all.join(', ');
}

/**
 * Frames HTTP/1.1 requests the way a strict origin would (RFC 9112): Content-Length or chunked,
 * nothing else. Returns the requests framed and the unconsumed rest; throws on bytes a strict
 * server would refuse (which the proxy must never send).
 */
export function frameRequests(buf: Buffer): { requests: Framed[]; rest: Buffer } {
  const requests: Framed[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf(HEAD_END, off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1');
    if (head.includes('\n') && head.split('\r\n').some((l) => l.includes('\n') || l.includes('\r'))) throw new Error(`bare CR or LF in head: ${JSON.stringify(head)}`);
    const [line, ...lines] = head.split('\r\n');
    if (!/^[A-Z]+ \S+ HTTP\/1\.1$/.test(line!)) throw new Error(`bad request line ${JSON.stringify(line)}`);
    const headers: [string, string][] = [];
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i <= 0 || /[\s]/.test(l.slice(0, i)) || l.startsWith(' ') || l.startsWith('\t')) throw new Error(`bad header line ${JSON.stringify(l)}`);
      headers.push([l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]);
    }
    const lengths = headers.filter(([n]) => n === 'content-length');
    const te = headers.filter(([n]) => n === 'transfer-encoding');
    if (lengths.length > 1) throw new Error('several Content-Length headers');
    if (lengths.length === 1 && te.length > 0) throw new Error('Content-Length with Transfer-Encoding');
    let p = end + 4;
    let body: Buffer;
    if (te.length > 0) {
      if (te.length !== 1 || te[0]![1].toLowerCase() !== 'chunked') throw new Error(`transfer-encoding ${JSON.stringify(te)}`);
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const le = buf.indexOf(CRLF, p);
        if (le < 0) break;
        const sizeLine = buf.subarray(p, le).toString('latin1');
        const m = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(sizeLine);
        if (m === null) throw new Error(`bad chunk size ${JSON.stringify(sizeLine)}`);
        const size = parseInt(m[1]!, 16);
        if (size === 0) {
          // Trailers end with an empty line.
          const te2 = buf.indexOf(HEAD_END, le);
          if (buf.subarray(le, le + 4).equals(HEAD_END)) { p = le + 4; complete = true; break; }
          if (te2 < 0) break;
          p = te2 + 4;
          complete = true;
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        if (!buf.subarray(le + 2 + size, le + 4 + size).equals(CRLF)) throw new Error('chunk without CRLF');
        p = le + 4 + size;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else {
      const len = lengths.length === 1 ? Number(lengths[0]![1]) : 0;
      if (!Number.isSafeInteger(len) || len < 0 || !/^\d+$/.test(lengths[0]?.[1] ?? '0')) throw new Error(`bad content-length ${lengths[0]![1]}`);
      if (buf.length < p + len) break;
      body = Buffer.from(buf.subarray(p, p + len));
      p += len;
    }
    requests.push({ line: line!, headers, body });
    off = p;
  }
  return { requests, rest: buf.subarray(off) };
}

/**
 * `HTTP/1.1 200` answer naming the request's ordinal on the backend: header `x-seen: N` and body
 * `seen N` (no body for HEAD, as HTTP says).
 */
export function okAnswer(n: number, extra = '', method = 'GET'): string {
  const body = `seen ${n}`;
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-seen: ${n}\r\n${extra}\r\n${method === 'HEAD' ? '' : body}`;
}

/** Starts the raw backend; `answer` defaults to a 200 per request. */
export async function rawBackend(t: TestContext, answer?: Answer): Promise<RawBackend> {
  const conns: RawConn[] = [];
  const requests: Framed[] = [];
  const open = new Set<Socket>();
  const reply: Answer = answer ?? ((req) => okAnswer(requests.length, '', req.line.slice(0, req.line.indexOf(' '))));
  const server = createNetServer((socket) => {
    open.add(socket);
    const conn: RawConn = { socket, bytes: Buffer.alloc(0), requests: [], broken: undefined, pending: 0 };
    conns.push(conn);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      conn.bytes = Buffer.concat([conn.bytes, chunk]);
      if (conn.broken !== undefined) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        const { requests: got, rest } = frameRequests(pending);
        pending = Buffer.from(rest);
        conn.pending = pending.length;
        for (const r of got) {
          conn.requests.push(r);
          requests.push(r);
          const out = reply(r, conn);
          if (out !== undefined && !socket.destroyed) socket.write(out);
        }
      } catch (err) {
        conn.broken = (err as Error).message;
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => {
    for (const s of open) s.destroy();
    return closeServer(server);
  });
  return {
    port: (server.address() as { port: number }).port,
    conns,
    requests,
    bytes: () => conns.reduce((n, c) => n + c.bytes.length, 0),
    open: () => open.size,
  };
}

export interface Fronted {
  readonly engine: ProxyEngine;
  readonly port: number;
}

/** A proxy engine with one HTTP route in front of `backendPort`. */
export async function proxyTo(t: TestContext, backendPort: number, opts: { cluster?: Partial<ClusterEntry>; route?: Partial<RouteEntry>; limits?: Partial<ProxyLimits> } = {}): Promise<Fronted> {
  const port = await freePort();
  const e = engine(t, { limits: { ...opts.limits } });
  const r = await e.apply(table([{ cluster: svc('raw', [backendPort], opts.cluster), listenPort: port, ...(opts.route ? { route: opts.route } : {}) }]));
  if (!r.ok) throw new Error(`table refused: ${JSON.stringify(r)}`);
  return { engine: e, port };
}

/**
 * Sends raw bytes, collects what comes back until the proxy closes the connection or `quietMs`
 * pass without a byte after the last one (a safety net, not a measurement).
 */
export function exchangeRaw(port: number, bytes: string | Buffer | (string | Buffer)[], quietMs = 1500): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connectSocket(port);
    const got: Buffer[] = [];
    let timer = setTimeout(() => s.destroy(), quietMs * 4);
    s.on('data', (d: Buffer) => {
      got.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => s.destroy(), quietMs);
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    s.once('connect', async () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) {
        s.write(b);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
  });
}

/** The status codes of the HTTP/1 responses in `raw`, in order. */
export function statuses(raw: Buffer): number[] {
  return responses(raw).map((r) => r.status);
}

export interface RawResponse {
  status: number;
  /** The backend's `x-seen` counter when the answer came from the raw backend. */
  seen: number | undefined;
  body: string;
}

/**
 * The HTTP/1 responses in `raw`, in order (bodies framed by Content-Length or chunked).
 * `methods[i]` is the method of the request answered i-th (HEAD answers have no body).
 */
export function responses(raw: Buffer, methods: readonly string[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const end = raw.indexOf(HEAD_END, off);
    if (end < 0) break;
    const head = raw.subarray(off, end).toString('latin1');
    const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
    if (m === null) break;
    const status = Number(m[1]);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    const seen = /\r\nx-seen: *(\d+)/i.exec(head);
    let p = end + 4;
    if (status < 200) {
      // An interim answer (100 Continue): the real one follows.
      off = p;
      continue;
    }
    if (methods[out.length] === 'HEAD' || status === 204 || status === 304) { /* no body */ }
    else if (cl !== null) p += Number(cl[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const zero = raw.indexOf('0\r\n\r\n', end + 4);
      p = zero < 0 ? raw.length : zero + 5;
    } else p = raw.length;
    out.push({ status, seen: seen === null ? undefined : Number(seen[1]), body: raw.subarray(end + 4, Math.min(p, raw.length)).toString('latin1') });
    off = p;
  }
  return out;
}

export { freePort };
