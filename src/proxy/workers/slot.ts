/**
 * One worker thread as the supervisor sees it: start (resolves once the worker is ready),
 * request/reply calls over its port with timeouts, stop (drain, then terminate) and kill.
 * An exit the supervisor did not ask for is reported to `onExit`.
 */
import { Worker } from 'node:worker_threads';
import { errorMessage, HostmeshError } from '../../common/errors.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/** The entry file next to this one (`.ts` from source, `.js` in the built package). */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);

type Hook = Extract<ToWorker, { type: 'crash' | 'stall' }>;
type Call = Exclude<ToWorker, Hook>;
export type CallBody = Call extends infer C ? (C extends Call ? Omit<C, 'seq'> : never) : never;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export type ExitListener = (slot: WorkerSlot, code: number, error: Error | undefined) => void;

export class WorkerSlot {
  readonly id: number;
  readonly worker: Worker;
  /** The thread's id (kept after it exits, when `worker.threadId` becomes -1). */
  readonly threadId: number;
  readonly startedAt = Date.now();
  /** Set before a stop or kill the supervisor asked for: that exit is not a crash. */
  stopping = false;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #alive = true;
  #error: Error | undefined;
  readonly #exited: Promise<number>;

  private constructor(init: WorkerInit, onExit: ExitListener) {
    this.id = init.id;
    const resourceLimits = init.heapMb === undefined ? undefined : { maxOldGenerationSizeMb: init.heapMb };
    this.worker = new Worker(ENTRY, { workerData: init, stdout: false, stderr: false, resourceLimits });
    this.threadId = this.worker.threadId;
    this.worker.on('message', (m: FromWorker) => {
      if (m.type !== 'reply') return;
      const p = this.#pending.get(m.seq);
      if (p === undefined) return;
      this.#pending.delete(m.seq);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new HostmeshError('WORKER_CALL_FAILED', `worker ${this.id}: ${m.error}`));
    });
    // Without a listener an uncaught error in the worker would be rethrown here.
    this.worker.on('error', (err) => {
      this.#error = err;
    });
    this.#exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.#alive = false;
        const err = new HostmeshError('WORKER_EXITED', `worker ${this.id} exited (code ${code})${this.#error ? `: ${errorMessage(this.#error)}` : ''}`);
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.#pending.clear();
        resolve(code);
        onExit(this, code, this.#error);
      });
    });
  }

  /** A new worker, resolved once it is ready to take calls. */
  static start(init: WorkerInit, onExit: ExitListener, timeoutMs = 30_000): Promise<WorkerSlot> {
    const slot = new WorkerSlot(init, onExit);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        slot.stopping = true;
        void slot.worker.terminate();
        reject(new HostmeshError('WORKER_START_FAILED', `worker ${init.id} did not start: ${why}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      const onMessage = (m: FromWorker): void => {
        if (m.type !== 'ready' || settled) return;
        settled = true;
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        resolve(slot);
      };
      slot.worker.on('message', onMessage);
      void slot.#exited.then((code) => fail(slot.#error ? errorMessage(slot.#error) : `exited with code ${code}`));
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  call<T>(body: CallBody, timeoutMs: number): Promise<T> {
    if (!this.#alive) return Promise.reject(new HostmeshError('WORKER_EXITED', `worker ${this.id} is not running`));
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new HostmeshError('WORKER_TIMEOUT', `worker ${this.id} did not answer ${body.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, timer });
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker, not a window
      this.worker.postMessage({ ...body, seq });
    });
  }

  /** A message without a reply (the test hooks). */
  send(m: Hook): void {
    // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker, not a window
    if (this.#alive) this.worker.postMessage(m);
  }

  /** Drains the worker's listeners (bounded by `timeoutMs`), then ends the thread. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (!this.#alive) return;
    await this.call({ type: 'close' }, timeoutMs).catch(() => {});
    await this.kill();
  }

  /** Ends the thread now: its connections are cut. Resolves once it has exited. */
  async kill(): Promise<void> {
    this.stopping = true;
    if (this.#alive) await this.worker.terminate();
    await this.#exited;
  }
}
