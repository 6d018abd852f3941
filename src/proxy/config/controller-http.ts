/**
 * The proxy's requests to the controller (the watch stream, acks, live reports) over node:http
 * (node:https for an https URL) with one keep-alive agent per user.
 *
 * Why not undici (which the backend pools use): undici parses responses with llhttp compiled to
 * WebAssembly. A 10,000-Service snapshot is a 14 MB watch line; parsing it makes V8 optimize the
 * parser's WebAssembly on a helper thread, and that compiler's ~10 MB of scratch memory stays
 * resident in the helper thread's malloc arena for good: 151-154 MB of RSS for the proxy fed by
 * the controller against 138-141 MB for the same proxy from its saved table, or with V8's
 * WebAssembly optimizer off (issue 12). node:http's parser is native code.
 */
import type { Agent, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

export interface ControllerRequest {
  /** Path and query, appended to the URL's own path prefix. */
  path: string;
  method: 'GET' | 'POST';
  headers: OutgoingHttpHeaders;
  body?: string;
  signal?: AbortSignal;
  /** Whole request and response, ms; none when absent (the watch stream has its own idle timer). */
  timeoutMs?: number;
}

export class ControllerHttp {
  /** `scheme://host:port` of the controller, for messages. */
  readonly origin: string;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #agent: Agent;
  readonly #request: typeof httpRequest;

  /** `connections`: the most sockets open at once (the watch stream holds one for its life). */
  constructor(controllerUrl: string | URL, connections: number) {
    this.#url = new URL(controllerUrl);
    this.origin = this.#url.origin;
    this.#basePath = this.#url.pathname.replace(/\/+$/, '');
    const https = this.#url.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: connections }) : new HttpAgent({ keepAlive: true, maxSockets: connections });
    this.#request = https ? httpsRequest : httpRequest;
  }

  /**
   * Resolves with the response once its head arrived; the caller reads its body to the end or
   * destroys it. Rejects on a connection failure, an abort or the timeout.
   */
  request(r: ControllerRequest): Promise<IncomingMessage> {
    const signals = [r.signal, r.timeoutMs === undefined ? undefined : AbortSignal.timeout(r.timeoutMs)].filter((s) => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return new Promise((resolve, reject) => {
      const req = this.#request({
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.#url.port,
        path: `${this.#basePath}${r.path}`,
        method: r.method,
        headers: r.body === undefined ? r.headers : { ...r.headers, 'content-length': Buffer.byteLength(r.body) },
        agent: this.#agent,
        signal,
      }, resolve);
      // Errors after the response (an abort mid-body) reach its reader through the response.
      req.on('error', reject);
      req.end(r.body);
    });
  }

  /** Closes every connection, the watch stream's too. */
  destroy(): void {
    this.#agent.destroy();
  }
}
