/**
 * Sends finished spans to an OTLP/HTTP collector (JSON encoding), in batches, off the request
 * path: a span is queued in O(1); a full batch or a short delay sends, one request at a time.
 * The queue is bounded: when the collector is slow or gone, new spans are dropped and counted,
 * never waited for. A failed batch is dropped and counted too (no retries that would grow
 * memory while a collector is down).
 */
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Agent } from 'node:http';
import { encodeSpans } from './otlp.ts';
import type { SpanResource } from './otlp.ts';
import type { ServerSpan, SpanSink } from './span.ts';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

export interface SpanExporterOptions {
  /** The collector's OTLP/HTTP traces endpoint. */
  url: URL;
  resource: SpanResource;
  /** Spans held while waiting to be sent; beyond it new spans are dropped. Default 2048. */
  maxQueue?: number;
  /** Spans per request. Default 512. */
  batchSize?: number;
  /** Longest a span waits for a batch to fill. Default 1000 ms. */
  delayMs?: number;
  /** Longest an export request may take. Default 10 s. */
  timeoutMs?: number;
  /** Told once per episode: spans started being dropped, or an export failed. */
  onProblem?: (message: string) => void;
}

export class SpanExporter implements SpanSink {
  readonly #url: URL;
  readonly #resource: SpanResource;
  readonly #max: number;
  readonly #batch: number;
  readonly #delayMs: number;
  readonly #timeoutMs: number;
  readonly #onProblem: (message: string) => void;
  readonly #agent: Agent;
  #queue: ServerSpan[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;
  #sending: Promise<void> | undefined = undefined;
  #dropping = false;
  #failing = false;
  #closed = false;
  /** Spans the collector accepted. */
  exported = 0;
  /** Spans dropped because the queue was full. */
  droppedQueueFull = 0;
  /** Spans of batches the collector refused or that could not be delivered. */
  droppedExportFailed = 0;
  readonly #sendNow = (): void => this.#send();

  constructor(opts: SpanExporterOptions) {
    this.#url = opts.url;
    this.#resource = opts.resource;
    this.#max = opts.maxQueue ?? 2048;
    this.#batch = opts.batchSize ?? 512;
    this.#delayMs = opts.delayMs ?? 1000;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#onProblem = opts.onProblem ?? (() => {});
    const agentOpts = { keepAlive: true, maxSockets: 1 };
    this.#agent = opts.url.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  }

  /** Spans waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  add(span: ServerSpan): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#max) {
      this.droppedQueueFull++;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#onProblem(`tracing: the collector at ${this.#url.origin} does not keep up; spans are dropped while ${this.#max} are queued`);
      }
      return;
    }
    this.#queue.push(span);
    if (this.#sending !== undefined) return;
    if (this.#queue.length >= this.#batch) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(this.#sendNow, 0);
    } else {
      this.#timer ??= setTimeout(this.#sendNow, this.#delayMs);
    }
    this.#timer.unref();
  }

  /** Sends everything queued now, batch by batch; resolves when the last batch is answered. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#sending !== undefined) {
      if (this.#sending === undefined) this.#send();
      await this.#sending;
    }
  }

  /** Sends what is queued (batch by batch) and stops; waits at most `deadlineMs`. */
  async close(deadlineMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const until = Date.now() + deadlineMs;
    while (Date.now() < until && (this.#sending !== undefined || this.#queue.length > 0)) {
      if (this.#sending === undefined) this.#send();
      const sending = this.#sending;
      if (sending === undefined) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([sending, new Promise((resolve) => { timer = setTimeout(resolve, Math.max(0, until - Date.now())); })]);
      clearTimeout(timer);
    }
    this.#agent.destroy();
  }

  #send(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#sending !== undefined || this.#queue.length === 0) return;
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
      if (this.#closed || this.#queue.length === 0) return;
      this.#timer = setTimeout(this.#sendNow, this.#queue.length >= this.#batch ? 0 : this.#delayMs).unref();
    });
  }

  /** POSTs one body; resolves with undefined when accepted, else what went wrong. Never rejects. */
  #post(body: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(this.#url, {
        method: 'POST',
        agent: this.#agent,
        timeout: this.#timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        res.resume();
        res.on('error', () => {});
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? undefined : `HTTP ${status}`);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end(body);
    });
  }
}
