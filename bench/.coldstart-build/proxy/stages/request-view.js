import { clientAddress } from '../http/headers.js';
const EMPTY_HEADERS = Object.freeze({});
export class RequestView {
    #req = undefined;
    #method = 'GET';
    /** Points the view at a request (its upper-case method given, as the exchange has it). */
    bind(req, method) {
        this.#req = req;
        this.#method = method;
    }
    /** Drops the reference, so a finished request is not kept alive by a route. */
    unbind() {
        this.#req = undefined;
    }
    get method() {
        return this.#method;
    }
    get url() {
        return this.#req?.url ?? '/';
    }
    get host() {
        const h = this.#req?.headers;
        if (h === undefined)
            return '';
        const v = h.host ?? h[':authority'];
        return typeof v === 'string' ? v : '';
    }
    /** node:http builds this object on first access; requests no matcher reads never pay for it. */
    get headers() {
        return this.#req?.headers ?? EMPTY_HEADERS;
    }
    get remoteAddress() {
        const a = this.#req?.socket.remoteAddress;
        return a === undefined ? '' : clientAddress(a);
    }
    get remotePort() {
        return this.#req?.socket.remotePort;
    }
    get httpVersion() {
        return this.#req?.httpVersion ?? '1.1';
    }
    get secure() {
        return this.#req?.socket?.encrypted === true;
    }
}
