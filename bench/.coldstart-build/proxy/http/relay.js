/**
 * Upgrade requests (WebSocket and any other `Upgrade:` protocol): the request head is written
 * to a fresh backend connection, the backend's response head is read and held like any other
 * attempt's, and on commit both connections are piped into each other untouched.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { httpReadTimeoutMs } from './timeouts.js';
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d{1,15})[ \t]*\r\n/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r\n]*chunked/i;
const LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;
const DIALING = 0;
const SENT = 1;
const HEAD = 2;
const COMMITTED = 3;
const OVER = 4;
export class RelayAttempt {
    ex;
    backend;
    endpoint;
    failure = undefined;
    status = 0;
    headers = undefined;
    #done;
    #maxHead;
    #state = DIALING;
    #up = undefined;
    #timer = undefined;
    #buffered = Buffer.alloc(0);
    /** Length of the backend's response head in `#buffered`. */
    #headEnd = 0;
    #released = false;
    /** Bytes of the request head written to the backend (not tunnel traffic, for the access log). */
    #headBytes = 0;
    #onHeadData = (chunk) => this.#headData(chunk);
    constructor(ex, backend, endpoint, done, maxHeadBytes) {
        this.ex = ex;
        this.backend = backend;
        this.endpoint = endpoint;
        this.#done = done;
        this.#maxHead = maxHeadBytes;
        backend.cluster.pool.acquire(endpoint);
    }
    /** Dials the endpoint and sends `head`, the complete request head. */
    start(head) {
        const cluster = this.backend.cluster;
        const ep = this.endpoint;
        const tls = cluster.entry.scheme === 'https';
        const up = tls
            ? tlsConnect({ host: ep.address, port: ep.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
            : netConnect({ host: ep.address, port: ep.port });
        this.#up = up;
        up.setNoDelay(true);
        this.#timer = setTimeout(() => this.#fail('dial-timeout'), cluster.dialTimeoutMs);
        up.once(tls ? 'secureConnect' : 'connect', () => this.#connected(head));
        up.on('error', () => this.#lost());
        up.on('close', () => this.#lost());
    }
    #connected(head) {
        if (this.#state !== DIALING)
            return;
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#state = SENT;
        const up = this.#up;
        up.write(head);
        this.#headBytes = Buffer.byteLength(head);
        // The client's bytes after its request head (and whatever it sends next) stay with the
        // client until the backend switches protocols: before a 101 they are HTTP, not tunnel data.
        up.on('data', this.#onHeadData);
        this.#armRead();
    }
    #headData(chunk) {
        this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
        const end = this.#buffered.indexOf(CRLFCRLF);
        if (end < 0) {
            if (this.#buffered.length > this.#maxHead)
                this.#fail('reset');
            else
                this.#armRead();
            return;
        }
        const m = STATUS_LINE.exec(this.#buffered.subarray(0, Math.min(end, 64)).toString('latin1'));
        if (m === null) {
            this.#fail('reset');
            return;
        }
        this.#headEnd = end + 4;
        this.#clearTimer();
        const up = this.#up;
        up.removeListener('data', this.#onHeadData);
        up.pause();
        this.status = Number(m[1]);
        this.#state = HEAD;
        this.backend.cluster.pool.reportSuccess(this.endpoint);
        this.#done(this.ex, this);
    }
    commit() {
        if (this.#state !== HEAD)
            return;
        this.#state = COMMITTED;
        if (this.status !== 101) {
            this.#declined();
            return;
        }
        const up = this.#up;
        const client = this.ex.socket;
        client.write(this.#buffered);
        this.#buffered = Buffer.alloc(0);
        if (this.ex.head !== undefined && this.ex.head.length > 0)
            up.write(this.ex.head);
        client.pipe(up);
        // pipe() forwards ends but not failures: a broken side takes the other down.
        client.once('close', () => up.destroy());
        up.pipe(client);
        up.resume();
        const log = this.ex.route.accessLog;
        if (log !== undefined) {
            // The access log line covers the whole tunnel: written when it closes, with its bytes.
            const ex = this.ex;
            ex.logAtTunnelEnd = true;
            up.once('close', () => {
                ex.bytesIn = up.bytesWritten - this.#headBytes;
                ex.bytesOut = up.bytesRead;
                log.record(ex);
            });
        }
        // The exchange is complete as far as metrics and deadlines go; the tunnel lives on.
        this.ex.finish(this.status);
    }
    /**
     * The backend answered the upgrade with an ordinary response: it goes to the client as it is
     * (its body delimited by Content-Length, chunked framing or the backend's close), and then the
     * client connection is closed. Nothing the client sent after its request head ever reaches
     * the backend: it was HTTP the proxy did not parse, not tunnel data.
     */
    #declined() {
        const up = this.#up;
        const client = this.ex.socket;
        const headText = this.#buffered.subarray(0, this.#headEnd).toString('latin1');
        const cl = CONTENT_LENGTH.exec(headText);
        const chunked = CHUNKED.test(headText);
        let remaining = cl !== null && !chunked ? Number(cl[1]) - (this.#buffered.length - this.#headEnd) : -1;
        let tail = this.#buffered.subarray(Math.max(this.#headEnd, this.#buffered.length - LAST_CHUNK.length));
        client.write(this.#buffered);
        this.#buffered = Buffer.alloc(0);
        const finish = () => {
            this.#close();
            client.end();
        };
        const complete = () => (remaining !== -1 ? remaining <= 0 : chunked && tail.length >= LAST_CHUNK.length && tail.subarray(tail.length - LAST_CHUNK.length).equals(LAST_CHUNK));
        this.ex.finish(this.status);
        if (this.ex.method === 'HEAD' || this.status === 204 || this.status === 304 || complete()) {
            finish();
            return;
        }
        client.once('close', () => this.#close());
        up.removeAllListeners('close');
        up.on('close', finish);
        up.on('data', (chunk) => {
            this.#armRead();
            client.write(remaining === -1 ? chunk : chunk.subarray(0, Math.max(0, remaining)));
            if (remaining !== -1)
                remaining -= chunk.length;
            else if (chunked)
                tail = Buffer.concat([tail, chunk]).subarray(-LAST_CHUNK.length);
            if (complete())
                finish();
        });
        this.#armRead();
        up.resume();
    }
    discard() {
        if (this.#state === HEAD)
            this.#close();
    }
    cancel() {
        if (this.#state !== OVER)
            this.#close();
    }
    #armRead() {
        const ms = httpReadTimeoutMs(this.backend.cluster.entry.readTimeoutMs);
        if (ms === undefined)
            return;
        this.#clearTimer();
        this.#timer = setTimeout(() => this.#fail('read-timeout'), ms);
    }
    #clearTimer() {
        if (this.#timer !== undefined) {
            clearTimeout(this.#timer);
            this.#timer = undefined;
        }
    }
    /** Before the head: the attempt fails and the client gets an error page. */
    #fail(failure) {
        const state = this.#state;
        if (state >= HEAD)
            return;
        this.#close();
        if (state === DIALING && failure !== 'read-timeout') {
            this.backend.cluster.pool.reportFailure(this.endpoint);
            this.backend.stats.connectErrors++;
        }
        this.failure = failure;
        this.ex.socket?.unpipe(this.#up);
        this.#done(this.ex, this);
    }
    /** The backend connection closed or failed. */
    #lost() {
        const state = this.#state;
        if (state === OVER)
            return;
        if (state < HEAD) {
            this.#fail(state === DIALING ? 'dial' : 'reset');
            return;
        }
        this.#close();
        if (state === COMMITTED)
            this.ex.socket?.destroy();
    }
    #close() {
        this.#state = OVER;
        this.#clearTimer();
        this.#up?.destroy();
        if (!this.#released) {
            this.#released = true;
            this.backend.cluster.pool.release(this.endpoint);
        }
    }
}
