/**
 * The expression language's MatchRequest over a client request, without allocating: one view per
 * stage is refilled for each request, read synchronously by a compiled key function, then
 * cleared so it holds no request after use.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { MatchRequest } from '../../expr/index.ts';
import type { ClientRequest } from '../http/exchange.ts';
import { clientAddress } from '../http/headers.ts';

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

export class RequestView implements MatchRequest {
  method = '';
  url = '';
  host = '';
  headers: IncomingHttpHeaders = NO_HEADERS;
  remoteAddress = '';
  remotePort: number | undefined = undefined;
  httpVersion = '1.1';
  secure = false;

  fill(req: ClientRequest): this {
    const socket = req.socket;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.headers = req.headers;
    this.host = req.headers.host ?? (req as { authority?: string }).authority ?? '';
    this.remoteAddress = clientAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort;
    this.httpVersion = req.httpVersion;
    return this;
  }

  clear(): void {
    this.headers = NO_HEADERS;
    this.url = '';
    this.host = '';
  }
}
