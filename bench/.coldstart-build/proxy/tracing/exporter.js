/**
 * Sends finished spans to an OTLP/HTTP collector (JSON encoding), in batches, off the request
 * path: a span is queued in O(1); a full batch or a short delay sends, one request at a time.
 * The queue is bounded: when the collector is slow or gone, new spans are dropped and counted,
 * never waited for. A failed batch is dropped and counted too (no retries that would grow
 * memory while a collector is down).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { encodeSpans } from './otlp.js';
export class SpanExporter {
    #url;
    #resource;
    #max;
    #batch;
    #delayMs;
    #timeoutMs;
    #onProblem;
    #agent;
    #queue = [];
    #timer = undefined;
    #sending = undefined;
    #dropping = false;
    #failing = false;
    #closed = false;
    /** Spans the collector accepted. */
    exported = 0;
    /** Spans dropped because the queue was full. */
    droppedQueueFull = 0;
    /** Spans of batches the collector refused or that could not be delivered. */
    droppedExportFailed = 0;
    #sendNow = () => this.#send();
    constructor(opts) {
        this.#url = opts.url;
        this.#resource = opts.resource;
        this.#max = opts.maxQueue ?? 2048;
        this.#batch = opts.batchSize ?? 512;
        this.#delayMs = opts.delayMs ?? 1000;
        this.#timeoutMs = opts.timeoutMs ?? 10_000;
        this.#onProblem = opts.onProblem ?? (() => { });
        const agentOpts = { keepAlive: true, maxSockets: 1 };
        this.#agent = opts.url.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    }
    /** Spans waiting to be sent. */
    get queued() {
        return this.#queue.length;
    }
    add(span) {
        if (this.#closed)
            return;
        if (this.#queue.length >= this.#max) {
            this.droppedQueueFull++;
            if (!this.#dropping) {
                this.#dropping = true;
                this.#onProblem(`tracing: the collector at ${this.#url.origin} does not keep up; spans are dropped while ${this.#max} are queued`);
            }
            return;
        }
        this.#queue.push(span);
        if (this.#sending !== undefined)
            return;
        if (this.#queue.length >= this.#batch) {
            clearTimeout(this.#timer);
            this.#timer = setTimeout(this.#sendNow, 0);
        }
        else {
            this.#timer ??= setTimeout(this.#sendNow, this.#delayMs);
        }
        this.#timer.unref();
    }
    /** Sends everything queued now, batch by batch; resolves when the last batch is answered. */
    async flush() {
        while (this.#queue.length > 0 || this.#sending !== undefined) {
            if (this.#sending === undefined)
                this.#send();
            await this.#sending;
        }
    }
    /** Sends what is queued (batch by batch) and stops; waits at most `deadlineMs`. */
    async close(deadlineMs = 2000) {
        if (this.#closed)
            return;
        this.#closed = true;
        clearTimeout(this.#timer);
        const until = Date.now() + deadlineMs;
        while (Date.now() < until && (this.#sending !== undefined || this.#queue.length > 0)) {
            if (this.#sending === undefined)
                this.#send();
            const sending = this.#sending;
            if (sending === undefined)
                break;
            let timer;
            await Promise.race([sending, new Promise((resolve) => { timer = setTimeout(resolve, Math.max(0, until - Date.now())); })]);
            clearTimeout(timer);
        }
        this.#agent.destroy();
    }
    #send() {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        if (this.#sending !== undefined || this.#queue.length === 0)
            return;
        const batch = this.#queue.length <= this.#batch ? this.#queue : this.#queue.slice(0, this.#batch);
        this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#batch);
        this.#dropping = false;
        this.#sending = this.#post(encodeSpans(this.#resource, batch)).then((problem) => {
            if (problem === undefined) {
                this.exported += batch.length;
                this.#failing = false;
                return;
            }
            this.droppedExportFailed += batch.length;
            if (!this.#failing) {
                this.#failing = true;
                this.#onProblem(`tracing: exporting ${batch.length} spans to ${this.#url.href} failed (${problem}); they are dropped`);
            }
        }).finally(() => {
            this.#sending = undefined;
            if (this.#closed || this.#queue.length === 0)
                return;
            this.#timer = setTimeout(this.#sendNow, this.#queue.length >= this.#batch ? 0 : this.#delayMs).unref();
        });
    }
    /** POSTs one body; resolves with undefined when accepted, else what went wrong. Never rejects. */
    #post(body) {
        return new Promise((resolve) => {
            const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
            const req = send(this.#url, {
                method: 'POST',
                agent: this.#agent,
                timeout: this.#timeoutMs,
                headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            }, (res) => {
                res.resume();
                res.on('error', () => { });
                const status = res.statusCode ?? 0;
                resolve(status >= 200 && status < 300 ? undefined : `HTTP ${status}`);
            });
            req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
            req.on('error', (err) => resolve(err.code ?? err.message));
            req.end(body);
        });
    }
}
