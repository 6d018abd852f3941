/**
 * The proxy's admin server: health, readiness, Prometheus metrics, the applied table (with a
 * bearer token) and the list of routes. It answers anything it is sent without crashing.
 *
 *   GET /healthz    200 while the process is alive
 *   GET /readyz     200 once a routing table has been applied, else 503 (also while shutting down)
 *   GET /metrics    Prometheus text, no auth
 *   GET /config     the applied table as JSON; `Authorization: Bearer <token>` (401 otherwise),
 *                   404 when no token is configured
 *   GET /v1/routes  `namespace/service:port -> host:port` lines (with weights and expression
 *                   splits); JSON with `Accept:
 *                   application/json` or `?format=json`
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { AppliedTable, RouteSummary } from './engine.ts';
import { wantsJson } from './http/error-page.ts';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { createServer } = process.getBuiltinModule('node:http');

/** What the admin server reads from a proxy engine. */
export interface AdminSource {
  readonly ready: boolean;
  readonly current: AppliedTable | undefined;
  readonly registry: Registry;
  routes(): RouteSummary[];
  /** The /metrics text when it is more than `registry` (worker threads: aggregated). */
  scrape?(): Promise<string>;
}

export interface AdminServerOptions {
  source: AdminSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (read it back from `port` after `listen`). */
  port: number;
  /** Bearer token for /config (and /v1/status); without one /config answers 404. */
  token?: string | undefined;
  log: Logger;
  /**
   * What `GET /v1/status` answers (JSON), e.g. configuration problems in standalone mode; 404
   * without it. Needs the token when one is configured.
   */
  status?: () => unknown;
  /**
   * Paths served beside the admin ones (standalone: the dashboard, live stats, tap), any
   * method: answers and returns true when the path is its own.
   */
  extra?: (req: IncomingMessage, res: ServerResponse, path: string, search: string) => boolean;
}

function digestOf(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class AdminServer {
  /** Set when the proxy begins to shut down: /readyz answers 503 from then on. */
  draining = false;
  readonly #opts: AdminServerOptions;
  readonly #server: Server;
  #tokenDigest: Buffer | undefined;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
    this.#tokenDigest = opts.token !== undefined && opts.token !== '' ? digestOf(opts.token) : undefined;
    this.#server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        opts.log.error({ err: errorMessage(err), url: req.url }, 'admin request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
    });
  }

  /** A rotated token (the token file changed): /config and /v1/status need it from now on. */
  setToken(token: string): void {
    this.#tokenDigest = token !== '' ? digestOf(token) : undefined;
  }


  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host ?? '127.0.0.1', () => {
        this.#server.removeListener('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : this.#opts.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid');
    } catch {
      send(res, 400, 'text/plain; charset=utf-8', 'bad request target\n');
      return;
    }
    if (this.#opts.extra?.(req, res, url.pathname, url.search.slice(1))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    const src = this.#opts.source;
    switch (url.pathname) {
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        if (this.draining) send(res, 503, 'text/plain; charset=utf-8', 'not ready: shutting down\n');
        else if (src.ready) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
        else send(res, 503, 'text/plain; charset=utf-8', 'not ready: no routing table applied yet\n');
        return;
      case '/metrics':
        send(res, 200, src.registry.contentType, await (src.scrape ? src.scrape() : src.registry.metrics()));
        return;
      case '/config':
        this.#config(req, res);
        return;
      case '/v1/routes':
        this.#routes(req, res, url);
        return;
      case '/v1/status': {
        const status = this.#opts.status;
        if (status === undefined) send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
        else if (this.#tokenDigest === undefined || this.#authorized(req, res)) send(res, 200, 'application/json', `${JSON.stringify(status(), null, 2)}\n`);
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  /** Checks the bearer token; answers 401 itself when it is missing or wrong. */
  #authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    // Compare digests: equal length, and timingSafeEqual does not leak where they differ.
    if (m !== null && this.#tokenDigest !== undefined && timingSafeEqual(digestOf(m[1]!), this.#tokenDigest)) return true;
    res.setHeader('www-authenticate', 'Bearer realm="hostmesh-proxy"');
    send(res, 401, 'text/plain; charset=utf-8', 'unauthorized\n');
    return false;
  }

  #config(req: IncomingMessage, res: ServerResponse): void {
    if (this.#tokenDigest === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    if (!this.#authorized(req, res)) return;
    const cur = this.#opts.source.current;
    if (cur === undefined) {
      send(res, 503, 'application/json', `${JSON.stringify({ error: 'no routing table applied yet' })}\n`);
      return;
    }
    const body = { epoch: cur.table.epoch, version: cur.table.version, digest: cur.digest, appliedAt: new Date(cur.appliedAt).toISOString(), table: cur.table };
    send(res, 200, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
  }

  #routes(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const routes = this.#opts.source.routes();
    const format = url.searchParams.get('format');
    if (format === 'json' || (format === null && wantsJson(req.headers.accept))) {
      send(res, 200, 'application/json', `${JSON.stringify({ routes }, null, 2)}\n`);
      return;
    }
    const lines = routes.map((r) => {
      const backends = r.backends.map((b) => `${b.cluster}${r.backends.length > 1 ? ` weight=${b.weight}` : ''} endpoints=${b.endpoints}`).join(', ');
      const rules = (r.rules ?? []).map((rule) => `; if ${rule.match} -> ${weighted(rule.backends)}`).join('');
      return `${r.route} -> ${r.listen} ${r.protocol} ${backends}${rules}`;
    });
    send(res, 200, 'text/plain; charset=utf-8', lines.length > 0 ? `${lines.join('\n')}\n` : '');
  }
}

/** `a:80` alone, or `a:80 weight=9, b:80 weight=1`. */
function weighted(backends: readonly { cluster: string; weight: number }[]): string {
  return backends.map((b) => `${b.cluster}${backends.length > 1 ? ` weight=${b.weight}` : ''}`).join(', ');
}

/**
 * How a route splits traffic, for banners: `90% test/web-v1:80, 10% test/web-v2:80` for weights,
 * then `if <expression> -> <backends>` per expression rule; undefined when it does not split.
 */
export function describeSplit(r: RouteSummary): string | undefined {
  const parts: string[] = [];
  if (r.backends.length > 1) {
    const total = r.backends.reduce((n, b) => n + b.weight, 0);
    parts.push(r.backends.map((b) => `${total > 0 ? Math.round((b.weight / total) * 100) : 0}% ${b.cluster}`).join(', '));
  }
  for (const rule of r.rules ?? []) parts.push(`if ${rule.match} -> ${weighted(rule.backends)}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
