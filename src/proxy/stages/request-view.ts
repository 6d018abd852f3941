/**
 * The client request as every compiled expression sees it (`MatchRequest`: split-rule matchers,
 * `retry-on`, rate-limit keys), without copying or parsing anything up front: each field is
 * read from the request only when an expression asks for it (`secure` from the TLS socket). A
 * stage keeps one view per route, binds it to a request around a synchronous evaluation and
 * unbinds it after, so evaluating allocates nothing of its own.
 */
import type { TLSSocket } from 'node:tls';
import type { MatchRequest } from '../../expr/index.ts';
import type { ClientRequest } from '../http/exchange.ts';
import { clientAddress } from '../http/headers.ts';

type Headers = MatchRequest['headers'];

const EMPTY_HEADERS: Headers = Object.freeze({});

export class RequestView implements MatchRequest {
  #req: ClientRequest | undefined = undefined;
  #method = 'GET';

  /** Points the view at a request (its upper-case method given, as the exchange has it). */
  bind(req: ClientRequest, method: string): void {
    this.#req = req;
    this.#method = method;
  }

  /** Drops the reference, so a finished request is not kept alive by a route. */
  unbind(): void {
    this.#req = undefined;
  }

  get method(): string {
    return this.#method;
  }

  get url(): string {
    return this.#req?.url ?? '/';
  }

  get host(): string {
    const h = this.#req?.headers;
    if (h === undefined) return '';
    const v = h.host ?? h[':authority'];
    return typeof v === 'string' ? v : '';
  }

  /** node:http builds this object on first access; requests no matcher reads never pay for it. */
  get headers(): Headers {
    return this.#req?.headers ?? EMPTY_HEADERS;
  }

  get remoteAddress(): string {
    const a = this.#req?.socket.remoteAddress;
    return a === undefined ? '' : clientAddress(a);
  }

  get remotePort(): number | undefined {
    return this.#req?.socket.remotePort;
  }

  get httpVersion(): string {
    return this.#req?.httpVersion ?? '1.1';
  }

  get secure(): boolean {
    return (this.#req?.socket as TLSSocket | undefined)?.encrypted === true;
  }
}
