import { connectFailure } from '../../http/failures.js';
/** What all copies of one route share: counters and the in-flight count. */
export class MirrorTarget {
    cluster;
    stats;
    maxInFlight;
    timeoutMs;
    inFlight = 0;
    constructor(cluster, stats, maxInFlight, timeoutMs) {
        this.cluster = cluster;
        this.stats = stats;
        this.maxInFlight = maxInFlight;
        this.timeoutMs = timeoutMs;
    }
}
class MirrorTimeout extends Error {
}
/** Errors before a socket that say something about the endpoint (not ours, not a pool shutting down). */
function isDialError(err) {
    if (err instanceof MirrorTimeout)
        return false;
    const f = connectFailure(err);
    return f === 'dial' || f === 'dial-timeout';
}
function onTimeout(c) {
    c.expire();
}
export class MirrorCopy {
    #target;
    #endpoint;
    #timer;
    #controller = undefined;
    #answered = false;
    #expired = false;
    #over = false;
    constructor(target, endpoint) {
        this.#target = target;
        this.#endpoint = endpoint;
        target.inFlight++;
        target.cluster.pool.acquire(endpoint);
        // Never keeps the process alive by itself; the copy's sockets do while they live.
        this.#timer = setTimeout(onTimeout, target.timeoutMs, this).unref();
    }
    onRequestStart(controller, _context) {
        this.#controller = controller;
        if (this.#expired)
            controller.abort(new MirrorTimeout('mirror copy timed out'));
    }
    onResponseStart(_controller, statusCode) {
        if (statusCode < 200 || this.#answered)
            return;
        this.#answered = true;
        this.#target.stats.sent++;
        this.#target.cluster.pool.reportSuccess(this.#endpoint);
    }
    onResponseData() {
        // Discarded: undici keeps reading, so the mirror is never held up by us.
    }
    onResponseEnd() {
        this.#end();
    }
    onResponseError(_controller, err) {
        if (!this.#answered) {
            this.#target.stats.failed++;
            // Never got a socket: a dial failure, which the mirror's passive health counts.
            if (this.#controller === undefined && isDialError(err))
                this.#target.cluster.pool.reportFailure(this.#endpoint);
        }
        this.#end();
    }
    /** The copy took too long: abort it (now, or as soon as undici hands it a socket). */
    expire() {
        if (this.#over)
            return;
        this.#expired = true;
        const c = this.#controller;
        if (c !== undefined && !c.aborted)
            c.abort(new MirrorTimeout('mirror copy timed out'));
    }
    #end() {
        if (this.#over)
            return;
        this.#over = true;
        clearTimeout(this.#timer);
        this.#target.inFlight--;
        this.#target.cluster.pool.release(this.#endpoint);
    }
}
const NO_HINT = {};
/** Sends the copy of a request whose body (if any) is held in `ex.body`, or counts it dropped. */
export function sendCopy(ex, target) {
    const stats = target.stats;
    if ((ex.hasBody && ex.body === undefined) || target.inFlight >= target.maxInFlight) {
        stats.dropped++;
        return;
    }
    const ep = target.cluster.pool.pick(NO_HINT);
    if (ep === undefined) {
        stats.dropped++;
        return;
    }
    const copy = new MirrorCopy(target, ep);
    try {
        target.cluster.link(ep).dispatch({
            path: ex.req.url ?? '/',
            method: ex.method,
            headers: ex.backendHeaders(),
            body: ex.body ?? null,
            headersTimeout: 0,
            bodyTimeout: 0,
        }, copy);
    }
    catch {
        copy.onResponseError(null, new Error('mirror dispatch refused'));
    }
}
