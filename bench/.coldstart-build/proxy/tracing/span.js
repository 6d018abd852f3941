/**
 * Server spans of proxied HTTP requests, for the OTLP exporter. Head sampling is decided once
 * per request, before any stage runs, from the trace id: the rightmost 52 bits below `ratio`
 * of their range. Every proxy on a trace's path decides alike, so a trace is recorded whole or
 * not at all. A caller's unsampled `traceparent` (flags without the sampled bit) is respected.
 * A sampled request's backend gets this proxy's span as its parent; an unsampled new trace is
 * sent on with the sampled flag cleared, so backends that follow their parent drop it too.
 */
import { pathOf } from '../access-log.js';
import { clientAddress, rawHeader } from '../http/headers.js';
import { isValidTraceparent, newTraceparent } from '../trace.js';
const TIME_ORIGIN = performance.timeOrigin;
const RANGE = 2 ** 52;
/** One sampled request: ids when it starts, the rest when its exchange finishes. */
export class ServerSpan {
    traceId;
    spanId;
    /** The caller's span, when the request came with a sampled traceparent. */
    parentId;
    /** Unix milliseconds (with a fraction). */
    startMs;
    endMs = 0;
    method = '';
    path = '';
    status = 0;
    route = '';
    /** Cluster id of the backend Service chosen, if any. */
    backend = undefined;
    /** `address:port` of the last endpoint tried, if any. */
    endpoint = undefined;
    retries = 0;
    client = '';
    #sink;
    constructor(sink, traceId, spanId, parentId, ex) {
        this.#sink = sink;
        // Noted now: an HTTP/2 stream forgets its socket once closed.
        this.client = ex.client ?? clientAddress(ex.req.socket?.remoteAddress);
        this.traceId = traceId;
        this.spanId = spanId;
        this.parentId = parentId;
        this.startMs = TIME_ORIGIN + ex.start;
    }
    /** The exchange completed at `now` (performance.now()): fill in the outcome and queue the span. */
    end(ex, now) {
        this.endMs = TIME_ORIGIN + now;
        this.method = ex.method;
        this.path = pathOf(ex.req.url);
        this.status = ex.status;
        this.route = ex.route.id;
        this.backend = ex.backend?.cluster.id;
        this.endpoint = ex.endpoint?.key;
        this.retries = ex.attempts > 1 ? ex.attempts - 1 : 0;
        this.#sink.add(this);
    }
}
function hexValue(c) {
    return c <= 57 ? c - 48 : c - 87;
}
/** Head sampling for one engine: every route's trace stage calls `start`. */
export class Tracer {
    ratio;
    #threshold;
    #sink;
    constructor(ratio, sink) {
        this.ratio = ratio;
        this.#threshold = ratio * RANGE;
        this.#sink = sink;
    }
    /** Whether a trace is recorded at this ratio (the same answer on every proxy). */
    samples(traceId) {
        return Number.parseInt(traceId.slice(19), 16) < this.#threshold;
    }
    /** Decides sampling for a new request; a sampled one gets its span and the traceparent to send. */
    start(ex) {
        const incoming = rawHeader(ex.req.rawHeaders, 'traceparent');
        if (incoming !== undefined && isValidTraceparent(incoming)) {
            // The caller chose not to record this trace: its choice stands, and its header travels on.
            if ((hexValue(incoming.charCodeAt(54)) & 1) === 0)
                return;
            const traceId = incoming.slice(3, 35);
            if (!this.samples(traceId))
                return;
            const spanId = newTraceparent().slice(36, 52);
            ex.ownTraceparent = `00-${traceId}-${spanId}-${incoming.slice(53, 55)}`;
            ex.span = new ServerSpan(this.#sink, traceId, spanId, incoming.slice(36, 52), ex);
            return;
        }
        const root = newTraceparent();
        const traceId = root.slice(3, 35);
        if (!this.samples(traceId)) {
            ex.ownTraceparent = `${root.slice(0, 53)}00`;
            return;
        }
        ex.ownTraceparent = root;
        ex.span = new ServerSpan(this.#sink, traceId, root.slice(36, 52), undefined, ex);
    }
}
