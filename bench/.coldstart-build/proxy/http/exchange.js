import { methodIndex } from '../metrics.js';
import { errorPage, rawErrorResponse } from './error-page.js';
import { clientAddress, requestHeaders } from './headers.js';
const CLIENT_CLOSED = 499;
/** An HTTP/1 request whose body has not been read to its end. */
function bodyPending(req) {
    if (req.complete || req.readableEnded)
        return false;
    const len = req.headers['content-length'];
    return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}
export class Exchange {
    req;
    /** Undefined for an upgrade: the connection itself (`socket`) was handed over. */
    res;
    socket;
    /** Bytes the client sent after an upgrade request's head. */
    head;
    route;
    listener;
    /** The client speaks HTTP/2 (h2c). */
    h2;
    method;
    methodIdx;
    /** performance.now() when the request arrived. */
    start;
    backend = undefined;
    /** The endpoint picked for the next attempt. */
    endpoint = undefined;
    attempt = undefined;
    /** Endpoints already tried, for a retry stage to pass as `exclude`. */
    tried = undefined;
    /** The whole-request deadline timer. */
    deadline = undefined;
    /** Response headers stages add (flat name/value list), e.g. an affinity cookie. */
    extraHeaders = undefined;
    /**
     * A buffered request body that every attempt can send again. Undefined means the body (if
     * any) streams from the client and can be sent once: see `bodyTaken`.
     */
    body = undefined;
    /** The streaming client body was handed to an attempt, so it cannot be replayed. */
    bodyTaken = false;
    /** Whether the client sends a body (set with `upstreamHeaders`). */
    hasBody = false;
    /** Backend request headers, built on the first attempt and reused by later ones. */
    upstreamHeaders = undefined;
    /** Status sent to the client; 0 until finished. */
    status = 0;
    done = false;
    /** Bits stages set as the request passes them, read by their completion (`StageContext.mark`). */
    marks = 0;
    // --- owned by the retry stage (stages/retry/) ---
    /** `retry-on` matched: the request may be retried after it reached a backend. */
    retryOn = false;
    /** Retries made so far. */
    retries = 0;
    /** performance.now() when the first attempt started (for `retry-duration`). */
    firstAttemptAt = 0;
    // Access log and trace context:
    /** The `traceparent` sent to the backend (set with `upstreamHeaders`). */
    traceparent = undefined;
    /** Request body bytes streamed from the client to a backend (a buffered `body` counts as its length). */
    bytesIn = 0;
    /** Response body bytes written to the client. */
    bytesOut = 0;
    /** Attempts started; more than one means retries. */
    attempts = 0;
    /** The client address when the request arrived (only recorded when access logging is on). */
    client = undefined;
    /** An upgrade's tunnel is logged when it closes rather than when the exchange finishes. */
    logAtTunnelEnd = false;
    // --- tracing (stages/trace.ts) ---
    /** The `traceparent` to send instead of the client's: this proxy's span, or its unsampled new trace. */
    ownTraceparent = undefined;
    /** This request's server span, when sampled; ended (and queued for export) when the exchange completes. */
    span = undefined;
    constructor(req, res, socket, head, route, listener) {
        this.start = performance.now();
        this.listener = listener;
        this.req = req;
        this.h2 = req.httpVersionMajor === 2;
        this.res = res;
        this.socket = socket;
        this.head = head;
        this.route = route;
        this.method = req.method ?? 'GET';
        this.methodIdx = methodIndex(this.method);
    }
    /** The backend request headers, built once per request; also learns whether a body follows. */
    backendHeaders() {
        let h = this.upstreamHeaders;
        if (h === undefined) {
            h = requestHeaders(this.req.rawHeaders, clientAddress(this.req.socket.remoteAddress), this);
            // HTTP/2: a body follows unless the HEADERS frame ended the stream.
            if (this.h2)
                this.hasBody = !this.req.stream?.endAfterHeaders;
            this.upstreamHeaders = h;
        }
        return h;
    }
    get headersSent() {
        return this.res !== undefined ? this.res.headersSent : this.status !== 0;
    }
    /** The client's identity (namespace, ServiceAccount) from the identity map; undefined when unknown. */
    identity() {
        return this.route.identities?.identify(this.req.socket.remoteAddress);
    }
    /** Answers with the proxy's own error page (or aborts, when a response already started). */
    fail(failure) {
        if (this.done)
            return;
        if (this.headersSent) {
            this.abort();
            return;
        }
        const backend = this.backend?.cluster.id;
        this.respond(errorPage(failure, this.route.id, backend, this.req.headers.accept, this.route.retryAfterSeconds));
    }
    /** Answers with a page the proxy wrote (error, maintenance) and finishes. */
    respond(page) {
        if (this.done)
            return;
        if (this.headersSent) {
            this.abort();
            return;
        }
        if (this.res !== undefined) {
            this.prepareHead();
            // Unread request body: close after answering rather than swallow the rest of an upload.
            if (!this.h2 && bodyPending(this.req))
                this.res.shouldKeepAlive = false;
            this.res.writeHead(page.status, page.headers);
            if (this.method === 'HEAD')
                this.res.end();
            else {
                this.res.end(page.body);
                this.bytesOut = Number(page.headers['content-length']);
            }
        }
        else if (this.socket !== undefined && this.socket.writable) {
            this.socket.end(rawErrorResponse(page));
            this.bytesOut = Number(page.headers['content-length']);
        }
        this.finish(page.status);
    }
    /** Call right before writing the response head. */
    prepareHead() {
        if (this.listener.draining && !this.h2)
            this.res.shouldKeepAlive = false;
    }
    /** Cuts the client connection: a response already started and cannot be completed. */
    abort() {
        if (this.done)
            return;
        const status = this.res?.statusCode ?? this.status;
        if (this.res !== undefined)
            this.res.destroy();
        else
            this.socket?.destroy();
        this.finish(status || 502);
    }
    /** The client went away before the response was complete. */
    clientGone() {
        if (this.done)
            return;
        this.attempt?.cancel();
        this.finish(CLIENT_CLOSED);
    }
    /** The route's deadline passed. */
    expire() {
        this.deadline = undefined;
        if (this.done)
            return;
        this.attempt?.cancel();
        this.fail('request-timeout');
    }
    /** The exchange is over: tells the route's completion once (metrics, breaker, access log, timers). */
    finish(status) {
        if (this.done)
            return;
        this.done = true;
        this.status = status;
        this.route.complete(this, status, performance.now());
        // The one check tap costs a request nobody taps (src/proxy/live/tap.ts).
        const tap = this.route.stats.tap;
        if (tap !== undefined)
            tap.offer(this);
    }
}
