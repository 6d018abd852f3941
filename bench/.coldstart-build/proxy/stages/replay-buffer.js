const READER = Symbol('hostmesh.replayBuffer');
/** One body being held or copied; found through the request stream (listeners are shared functions). */
class BodyRead {
    ex;
    /** Held: the request waits for the body and continues with `next`; else copied on the fly. */
    next;
    max;
    chunks = [];
    size = 0;
    /** Waiting for the body to end (a mirror copy). */
    kept;
    constructor(ex, next, max, kept) {
        this.ex = ex;
        this.next = next;
        this.max = max;
        this.kept = kept;
    }
}
function detach(req) {
    const r = req[READER];
    req[READER] = undefined;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onError);
    req.removeListener('readable', keepPaused);
    return r;
}
/**
 * Keeps an HTTP/2 request out of flowing mode, so the 'data' listener beside it sees exactly
 * the chunks the attempt reads. (HTTP/1 requests are paused instead, which the server undoes
 * when it discards an unread body; an HTTP/2 request paused before its first read never reads.)
 */
function keepPaused() { }
function onData(chunk) {
    const r = this[READER];
    if (r === undefined)
        return;
    r.chunks.push(chunk);
    r.size += chunk.length;
    if (r.size <= r.max)
        return;
    // Only a copy taken on the fly can outgrow the limit: give it up and let the body stream.
    detach(this);
    r.kept?.(r.ex, false);
}
function onEnd() {
    const r = detach(this);
    if (r === undefined)
        return;
    const ex = r.ex;
    if (ex.done) {
        // Answered before the body ended (perhaps unread and discarded by the server): the copy
        // cannot be trusted to be whole.
        r.kept?.(ex, false);
        return;
    }
    ex.body = r.chunks.length === 1 ? r.chunks[0] : Buffer.concat(r.chunks, r.size);
    r.kept?.(ex, true);
    if (r.next !== undefined)
        r.next(ex);
}
function onError() {
    // The client went away mid-body: the response's close already ended the exchange.
    const r = detach(this);
    if (r !== undefined)
        r.kept?.(r.ex, false);
}
/** The declared body length, or -1 when unknown (chunked, or HTTP/2 without the header). */
function declaredLength(ex) {
    const v = ex.req.headers['content-length'];
    if (v === undefined)
        return -1;
    const n = Number(v);
    return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}
/**
 * Keeps the body of `ex` (up to `max` bytes) and continues with `next`: at once, or once a held
 * body was read. `kept`, when given, is told whether the whole body ends up in `ex.body`.
 * Upgrades keep nothing. Asking again for a body already kept or being kept just continues.
 */
export function keepBody(ex, max, next, kept) {
    if (ex.socket !== undefined) {
        kept?.(ex, false);
        next(ex);
        return;
    }
    const req = ex.req;
    const reading = req[READER];
    if (ex.body !== undefined || (reading !== undefined && reading.ex === ex)) {
        if (kept !== undefined) {
            if (ex.body !== undefined)
                kept(ex, true);
            else
                reading.kept = kept;
        }
        next(ex);
        return;
    }
    ex.backendHeaders();
    const declared = declaredLength(ex);
    if (!ex.hasBody || declared > max) {
        kept?.(ex, !ex.hasBody);
        next(ex);
        return;
    }
    const held = declared >= 0;
    req[READER] = new BodyRead(ex, held ? next : undefined, max, kept);
    if (!held) {
        if (ex.h2)
            req.on('readable', keepPaused);
        else
            req.pause();
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    if (!held)
        next(ex);
}
