/**
 * The controller API (node:http): the watch streams that push tables to proxies, their acks,
 * the status of every proxy, and health and metrics. `/v1/*` needs the bearer token; health and
 * metrics are open. Nothing a client sends can throw out of a handler.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { ACK_PATH, NDJSON, STATUS_PATH, WATCH_PATH } from '../../table/index.ts';
import type { AckReport, ControllerStatus, WatchMessage } from '../../table/index.ts';
import { errorMessage, isHostmeshError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { bearerAuth } from './auth.ts';
import type { AuthResult } from './auth.ts';
import { readBody, sendError, sendJson, sendText } from './http-util.ts';
import { createControllerMetrics } from './metrics.ts';
import type { ControllerMetrics } from './metrics.ts';
import { ProxyTracker } from './proxies.ts';
import type { Publication, Publisher } from './publisher.ts';
import { parseAck, parseWatchQuery } from './requests.ts';
import { lineBytes, WatchStream } from './watch-stream.ts';
import type { CatchUp, Line } from './watch-stream.ts';
import { bufferPieces, jsonPieces } from '../../common/text-pieces.ts';

export interface PushServerOptions {
  publisher: Publisher;
  /** Bearer token proxies present on `/v1/*` (surrounding whitespace is ignored). */
  token: string;
  log: Logger;
  /** Interval of heartbeat lines on idle watch streams, ms (default 10 s). */
  heartbeatMs?: number;
  /** A disconnected proxy is dropped from the status this long after it was last seen (default 1 h). */
  forgetAfterMs?: number;
  /** Most proxies tracked at once (default 10,000). */
  maxProxies?: number;
  /** Largest ack body accepted, bytes (default 64 KiB). */
  maxAckBytes?: number;
  /** Registry for the controller metrics (default: a new one, served on /metrics). */
  registry?: Registry;
  /** Recent versions whose deltas are kept for proxies that reconnect or lag (default 256). */
  deltaVersions?: number;
  /** Most bytes of deltas kept, and sent in one catch-up before a snapshot is sent instead (default 4 MiB). */
  maxCatchUpBytes?: number;
  /** Called after each valid ack is recorded (benchmarks and wiring use it). */
  onAck?: (ack: AckReport) => void;
  /**
   * Paths served beside the protocol (live reports, tap, the dashboard): answers and returns
   * true when the path is its own. Consulted before the 404.
   */
  extra?: (req: IncomingMessage, res: ServerResponse, path: string, search: string) => boolean;
}

export const DEFAULT_HEARTBEAT_MS = 10_000;

const OPEN_GET = ['GET', 'HEAD'];
/** How long the serialized snapshot is kept after the last stream that needed it. */
const LINE_KEEP_MS = 30_000;

/**
 * A watch message as its line, in pieces: never one string or Buffer of a whole snapshot (once
 * glibc frees a Buffer that large, it serves later large Buffers from its heap and keeps them
 * resident; common/text-pieces.ts).
 */
function messageLine(message: WatchMessage): Line {
  return bufferPieces(linePieces(message));
}

function* linePieces(message: WatchMessage): Generator<string> {
  yield* jsonPieces(message);
  yield '\n';
}

export class PushServer {
  readonly server: Server;
  readonly registry: Registry;
  readonly #publisher: Publisher;
  readonly #log: Logger;
  #auth: (authorization: string | undefined) => AuthResult;
  readonly #tracker: ProxyTracker;
  readonly #metrics: ControllerMetrics;
  readonly #streams = new Set<WatchStream>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  readonly #maxAckBytes: number;
  readonly #onAck: ((ack: AckReport) => void) | undefined;
  readonly #extra: PushServerOptions['extra'];
  /**
   * The current version's snapshot line, serialized once (when a stream needs it) for every
   * stream, in pieces; dropped once no stream asked for it for LINE_KEEP_MS (14 MB at 10,000
   * Services).
   */
  #line: { version: number; line: Line; used: number } | undefined;
  #lineTimer: NodeJS.Timeout | undefined;
  /** Delta lines of recent versions by version, oldest first, with their total size. */
  readonly #deltas = new Map<number, Line>();
  #deltaBytes = 0;
  readonly #deltaVersions: number;
  readonly #maxCatchUpBytes: number;
  #standby: (() => string) | undefined;
  /** While standing by: the leader's API address, if known; proxies' requests are forwarded there. */
  leaderUrl: (() => string | undefined) | undefined;
  /** Responses being forwarded to the leader: ended when this replica's role changes. */
  readonly #forwarded = new Set<ServerResponse>();

  constructor(options: PushServerOptions) {
    this.#publisher = options.publisher;
    this.#log = options.log;
    this.#auth = bearerAuth(options.token);
    this.#maxAckBytes = options.maxAckBytes ?? 64 * 1024;
    this.#onAck = options.onAck;
    this.#extra = options.extra;
    this.#deltaVersions = options.deltaVersions ?? 256;
    this.#maxCatchUpBytes = options.maxCatchUpBytes ?? 4 * 1024 * 1024;
    this.#tracker = new ProxyTracker(options.publisher, {
      forgetAfterMs: options.forgetAfterMs ?? 3_600_000,
      maxProxies: options.maxProxies ?? 10_000,
    });
    this.registry = options.registry ?? new Registry();
    this.#metrics = createControllerMetrics(this.registry, {
      version: () => this.#publisher.version,
      proxies: () => this.#tracker.counts(),
      problems: () => this.status().diagnostics,
    });
    this.server = createServer(this.#handle);
    this.#unsubscribe = this.#publisher.subscribe(this.#onPublish);
    this.#heartbeat = setInterval(this.#beat, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /**
   * A rotated token (the token file changed): accepted from now on; the previous one stays
   * accepted for `graceMs` (default 10 min) so proxies that read the new file later keep going.
   */
  setToken(token: string, graceMs = 600_000): void {
    const next = bearerAuth(token);
    const previous = this.#auth;
    const until = Date.now() + graceMs;
    this.#auth = (authorization) => {
      const r = next(authorization);
      if (r === 'ok' || Date.now() > until) return r;
      return previous(authorization) === 'ok' ? 'ok' : r;
    };
  }


  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  status(): ControllerStatus {
    const current = this.#publisher.current;
    return {
      epoch: this.#publisher.epoch,
      version: current?.table.version ?? 0,
      digest: current?.digest ?? '',
      generatedAt: current?.table.generatedAt ?? '',
      proxies: this.#tracker.list(),
      diagnostics: [...this.#publisher.diagnostics],
    };
  }

  /**
   * Set while this replica stands by (leader election): watches are answered 503 `NOT_LEADER`
   * with the reason (who leads), `/readyz` is 503 so the Service sends proxies to the leader,
   * and setting it ends the open streams (their proxies reconnect, to the leader).
   */
  get standby(): (() => string) | undefined {
    return this.#standby;
  }

  set standby(reason: (() => string) | undefined) {
    this.#standby = reason;
    if (reason !== undefined) for (const s of this.#streams) s.end();
    for (const r of this.#forwarded) r.destroy();
    this.#forwarded.clear();
  }

  /** Open watch streams (for diagnostics and tests). */
  get streams(): readonly WatchStream[] {
    return [...this.#streams];
  }

  /** Ends every watch stream and closes the server. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    clearInterval(this.#lineTimer);
    this.#unsubscribe();
    for (const s of this.#streams) s.end();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  readonly #onPublish = (publication: Publication): void => {
    this.#metrics.publishes.inc();
    const delta = publication.delta;
    let line: Line | undefined;
    if (delta === undefined) {
      this.#deltas.clear();
      this.#deltaBytes = 0;
    } else {
      const message: WatchMessage = { type: 'delta', delta };
      line = messageLine(message);
      this.#remember(delta.version, line);
    }
    for (const s of this.#streams) s.publish(delta?.base, line);
  };

  #remember(version: number, line: Line): void {
    this.#deltas.set(version, line);
    this.#deltaBytes += lineBytes(line);
    for (const [v, old] of this.#deltas) {
      if (this.#deltas.size <= this.#deltaVersions && this.#deltaBytes <= this.#maxCatchUpBytes) break;
      this.#deltas.delete(v);
      this.#deltaBytes -= lineBytes(old);
    }
  }

  /** The deltas from `version` to the current one when all are kept and small enough, else a snapshot. */
  readonly #catchUp = (version: number | undefined): ReturnType<CatchUp> => {
    const current = this.#publisher.current;
    if (current === undefined) return undefined;
    const to = current.table.version;
    if (version === to) return undefined;
    if (version !== undefined && version < to) {
      const lines: Line[] = [];
      let bytes = 0;
      for (let v = version + 1; v <= to; v++) {
        const line = this.#deltas.get(v);
        if (line === undefined || (bytes += lineBytes(line)) > this.#maxCatchUpBytes) break;
        lines.push(line);
      }
      if (lines.length === to - version) return { lines, version: to, snapshot: false };
    }
    return { lines: [this.#lineFor(current)], version: to, snapshot: true };
  };

  readonly #beat = (): void => {
    if (this.#streams.size === 0) return;
    const line = this.#heartbeatLine();
    for (const s of this.#streams) s.heartbeat(line);
  };

  #lineFor(publication: Publication): Line {
    if (this.#line?.version !== publication.table.version) {
      const message: WatchMessage = { type: 'snapshot', table: publication.table };
      this.#line = { version: publication.table.version, line: messageLine(message), used: 0 };
    }
    this.#line.used = performance.now();
    this.#lineTimer ??= setInterval(this.#dropIdleLine, LINE_KEEP_MS).unref();
    return this.#line.line;
  }

  readonly #dropIdleLine = (): void => {
    if (this.#line !== undefined && performance.now() - this.#line.used < LINE_KEEP_MS) return;
    this.#line = undefined;
    clearInterval(this.#lineTimer);
    this.#lineTimer = undefined;
  };

  #heartbeatLine(): Buffer {
    const message: WatchMessage = { type: 'heartbeat', epoch: this.#publisher.epoch, version: this.#publisher.version, time: new Date().toISOString() };
    return Buffer.from(`${JSON.stringify(message)}\n`);
  }

  readonly #handle = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#route(req, res);
    } catch (e) {
      this.#fail(res, e);
    }
  };

  #fail(res: ServerResponse, e: unknown): void {
    this.#log.error({ err: errorMessage(e) }, 'controller API: request failed');
    if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error; see the controller log');
    else res.destroy();
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';

    if (this.#standby && (path === WATCH_PATH || path === ACK_PATH || path === STATUS_PATH)) {
      const leader = this.leaderUrl?.();
      if (leader !== undefined) {
        this.#forward(req, res, leader);
        return;
      }
    }
    switch (path) {
      case '/healthz':
        if (!this.#allow(res, method, OPEN_GET)) return;
        sendText(res, 200, 'ok\n', method === 'HEAD');
        return;
      case '/readyz':
        if (!this.#allow(res, method, OPEN_GET)) return;
        if (this.#standby) {
          const leader = this.leaderUrl?.();
          // A standby that can forward to the leader serves proxies as well as the leader does.
          if (leader !== undefined) sendText(res, 200, `ready: ${this.#standby()}; forwarding proxies to ${leader}\n`, method === 'HEAD');
          else sendText(res, 503, `not ready: ${this.#standby()}\n`, method === 'HEAD');
        }
        else if (this.#publisher.current) sendText(res, 200, 'ready\n', method === 'HEAD');
        else sendText(res, 503, 'not ready: no routing table published yet\n', method === 'HEAD');
        return;
      case '/metrics':
        if (!this.#allow(res, method, OPEN_GET)) return;
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
            res.end(method === 'HEAD' ? undefined : text);
          },
          (e: unknown) => this.#fail(res, e),
        );
        return;
      case WATCH_PATH:
        if (this.#authorized(req, res) && this.#allow(res, method, ['GET'])) this.#watch(req, res, search);
        return;
      case ACK_PATH:
        if (this.#authorized(req, res) && this.#allow(res, method, ['POST'])) this.#ack(req, res).catch((e: unknown) => this.#fail(res, e));
        return;
      case STATUS_PATH:
        if (this.#authorized(req, res) && this.#allow(res, method, ['GET'])) sendJson(res, 200, this.status());
        return;
      default:
        if (this.#extra?.(req, res, path, search)) return;
        sendError(res, 404, 'NOT_FOUND', `no such path: ${path.length > 100 ? `${path.slice(0, 100)}...` : path}`);
    }
  }

  /** Passes a proxy's request to the leader and its answer (a watch stream too) back. */
  #forward(req: IncomingMessage, res: ServerResponse, leader: string): void {
    let target: URL;
    try {
      target = new URL(req.url ?? '/', leader);
      if (target.protocol !== 'http:') throw new Error(`not an http URL: ${leader}`);
    } catch (e) {
      sendError(res, 503, 'NOT_LEADER', `this controller replica is a ${this.#standby?.() ?? 'standby'}, and the leader's address ${JSON.stringify(leader)} is unusable (${errorMessage(e)}); retry`);
      return;
    }
    this.#forwarded.add(res);
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) sendError(res, 503, 'NOT_LEADER', `this controller replica is a ${this.#standby?.() ?? 'standby'}, and the leader at ${leader} does not answer (${e.message}); retry`, { 'retry-after': '1' });
      else res.destroy();
    });
    res.once('close', () => {
      this.#forwarded.delete(res);
      upstream.destroy();
    });
    req.pipe(upstream);
  }

  #allow(res: ServerResponse, method: string, allowed: string[]): boolean {
    if (allowed.includes(method)) return true;
    sendError(res, 405, 'METHOD_NOT_ALLOWED', `method ${method} is not allowed here (allowed: ${allowed.join(', ')})`, { allow: allowed.join(', ') });
    return false;
  }

  #authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const result = this.#auth(req.headers.authorization);
    if (result === 'ok') return true;
    if (result === 'missing') {
      sendError(res, 401, 'UNAUTHORIZED', 'a bearer token is required (Authorization: Bearer <token>)', { 'www-authenticate': 'Bearer realm="hostmesh"' });
    } else {
      sendError(res, 401, 'UNAUTHORIZED', 'the bearer token is not valid', { 'www-authenticate': 'Bearer realm="hostmesh", error="invalid_token"' });
    }
    return false;
  }

  #watch(req: IncomingMessage, res: ServerResponse, search: string): void {
    let query;
    try {
      query = parseWatchQuery(search);
    } catch (e) {
      sendError(res, 400, isHostmeshError(e) ? e.code : 'BAD_REQUEST', errorMessage(e));
      return;
    }
    const { node, since } = query;
    if (this.#standby) {
      sendError(res, 503, 'NOT_LEADER', `this controller replica is a ${this.#standby()}; retry (the Service sends you to the leader)`, { 'retry-after': '1' });
      return;
    }
    req.socket.setKeepAlive(true, 30_000);
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
    const stream = new WatchStream(node, res, {
      catchUp: this.#catchUp,
      onSkip: () => this.#metrics.skippedSnapshots.inc(),
      onSent: (kind, bytes) => {
        this.#metrics.watchMessages.inc({ kind });
        this.#metrics.watchBytes.inc({ kind }, bytes);
      },
    });
    this.#streams.add(stream);
    this.#tracker.opened(node);
    this.#log.info({ node, since: since && `${since.epoch}:${since.version}` }, 'proxy watching');
    res.once('close', () => {
      this.#streams.delete(stream);
      this.#tracker.closed(node);
      this.#log.info({ node, sent: stream.sent, skipped: stream.skipped, snapshots: stream.snapshots, bytes: stream.bytes }, 'proxy watch closed');
    });

    const current = this.#publisher.current;
    // The version the proxy serves, if it is one of ours: deltas from there, if still kept.
    if (since !== undefined && since.epoch === this.#publisher.epoch && since.version <= (current?.table.version ?? 0)) stream.version = since.version;
    // With nothing to send, an immediate heartbeat tells the proxy at once that it is current.
    if (current === undefined || stream.version === current.table.version) stream.heartbeat(this.#heartbeatLine());
    else stream.catchUp();
  }

  async #ack(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let ack: AckReport;
    try {
      const body = await readBody(req, this.#maxAckBytes);
      ack = parseAck(JSON.parse(body.toString('utf8')));
    } catch (e) {
      if (res.destroyed) return;
      if (isHostmeshError(e, 'BODY_ABORTED')) res.destroy();
      else if (isHostmeshError(e, 'BODY_TOO_LARGE')) sendError(res, 413, e.code, `ack: ${e.message}`, { connection: 'close' });
      else if (e instanceof SyntaxError) sendError(res, 400, 'BAD_ACK', `ack: body is not valid JSON (${e.message})`);
      else sendError(res, 400, isHostmeshError(e) ? e.code : 'BAD_ACK', errorMessage(e));
      return;
    }
    const effect = this.#tracker.acked(ack);
    if (effect.lagSeconds !== undefined) this.#metrics.applyLag.observe(effect.lagSeconds);
    if (effect.refused) {
      this.#metrics.refusals.inc();
      this.#log.warn({ node: ack.node, epoch: ack.epoch, version: ack.version, error: ack.error }, 'proxy refused a snapshot');
    } else {
      this.#log.debug({ node: ack.node, epoch: ack.epoch, version: ack.version }, 'proxy applied');
    }
    res.writeHead(204);
    res.end();
    this.#onAck?.(ack);
  }
}
