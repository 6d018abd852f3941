/**
 * Writes access log chunks to a file descriptor (stdout by default) without blocking the event
 * loop: one asynchronous write at a time, later chunks queued behind it. A reader that cannot
 * keep up (a full pipe) costs memory only up to `maxQueuedBytes`; beyond that chunks are
 * dropped and counted rather than slowing requests down. A broken descriptor (EPIPE, EBADF)
 * stops the log, never the proxy.
 */
import { write } from 'node:fs';
const RETRY_BUSY_MS = 10;
export class FdSink {
    #fd;
    #max;
    #onProblem;
    #queue = [];
    #queued = 0;
    #writing = false;
    #broken = false;
    #dropping = false;
    /** Chunks dropped because the queue was full. */
    dropped = 0;
    #idle = [];
    #afterWrite = (err, n) => this.#written(err, n);
    #next = () => this.#writeNext();
    constructor(fd, opts = {}) {
        this.#fd = fd;
        this.#max = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
        this.#onProblem = opts.onProblem ?? (() => { });
    }
    write(chunk) {
        if (this.#broken)
            return;
        const buf = Buffer.from(chunk);
        if (this.#queued + buf.length > this.#max) {
            this.dropped++;
            if (!this.#dropping) {
                this.#dropping = true;
                this.#onProblem(`access log: the output does not keep up; lines are dropped until ${this.#queued} queued bytes are written`);
            }
            return;
        }
        this.#queue.push(buf);
        this.#queued += buf.length;
        if (!this.#writing)
            this.#writeNext();
    }
    idle() {
        if (!this.#writing)
            return Promise.resolve();
        return new Promise((resolve) => this.#idle.push(resolve));
    }
    #writeNext() {
        const buf = this.#queue[0];
        if (buf === undefined || this.#broken) {
            this.#writing = false;
            this.#dropping = false;
            const waiting = this.#idle;
            this.#idle = [];
            for (const resolve of waiting)
                resolve();
            return;
        }
        this.#writing = true;
        write(this.#fd, buf, 0, buf.length, null, this.#afterWrite);
    }
    #written(err, n) {
        if (err !== null) {
            if (err.code === 'EAGAIN') {
                // A non-blocking pipe is full: try again shortly.
                setTimeout(this.#next, RETRY_BUSY_MS);
                return;
            }
            this.#broken = true;
            this.#queue = [];
            this.#queued = 0;
            this.#onProblem(`access log: writing to descriptor ${this.#fd} failed (${err.code ?? err.message}); access logging stops`);
            this.#writeNext();
            return;
        }
        const buf = this.#queue[0];
        this.#queued -= n;
        if (n < buf.length)
            this.#queue[0] = buf.subarray(n);
        else
            this.#queue.shift();
        this.#writeNext();
    }
}
