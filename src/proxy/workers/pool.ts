/**
 * The worker supervisor: N proxy worker threads behind the same surface as one ProxyEngine.
 *
 * - Each worker runs a ProxyEngine whose listeners use SO_REUSEPORT, so the kernel spreads new
 *   TCP connections (and UDP flows, by their addresses) over the workers.
 * - `apply` validates the table, allocates the shared rate-limit zones it needs, and fans it
 *   out. It is ok only once every worker applied it. A worker that fails when others
 *   succeeded is replaced by a fresh worker given the same table; if that one fails too, every
 *   worker goes back to the previous table and the apply is refused. When all refuse, nothing
 *   changed anywhere.
 * - A worker that exits unexpectedly is replaced (at once, then with backoff if it keeps
 *   dying) and gets the current table; the others keep serving. Its rate-limit locks are
 *   freed first, its counters kept (see retired.ts). Restarts are logged and counted in
 *   `hostmesh_worker_restarts_total{reason}`.
 * - `/metrics` aggregates every worker's registry (counters and histograms summed, gauges by
 *   their aggregator) after the main thread's own metrics (process, DNS, workers).
 */
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage, HostmeshError, isHostmeshError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import type { Logger } from '../../common/log.ts';
import { applyTableDelta, DELTA_GAP, formatProblems, validateTable } from '../../table/index.ts';
import type { RoutingTable, TableProblem } from '../../table/index.ts';
import type { AppliedTable, ApplyResult, RouteSummary } from '../engine.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { mergeSamples } from '../live/counts.ts';
import type { LiveSample } from '../live/counts.ts';
import type { TapSubscription } from '../../table/live.ts';
import type { ProxyLimits } from '../limits.ts';
import { ZoneBuffers } from '../ratelimit/zones.ts';
import type { ZoneOffer } from '../ratelimit/zones.ts';
import type { ApplyReply, WorkerInit, WorkerMetrics } from './protocol.ts';
import { RetiredCounts } from './retired.ts';
import type { TracingOptions } from '../tracing/index.ts';
import { WorkerSlot } from './slot.ts';
import type { CallBody } from './slot.ts';
import type { ProxyHost } from './types.ts';

export interface WorkerPoolOptions {
  workers: number;
  /** Each worker's V8 old-generation limit in MiB (from the container's memory limit). */
  heapMb?: number | undefined;
  /** Address listeners bind to (default 127.0.0.1). */
  host?: string;
  limits?: Partial<ProxyLimits>;
  log?: Logger;
  /** The main thread's registry (process, DNS and worker metrics); a new one by default. */
  registry?: Registry;
  /** Export Node process metrics of the process (default true). */
  processMetrics?: boolean;
  affinitySecret?: string;
  /** Each worker writes JSON access log lines to stdout (whole lines, never interleaved). */
  accessLog?: boolean;
  /** Span export, run by each worker. */
  tracing?: TracingOptions | undefined;
  /** Longest wait for one worker to apply a table (default 60 s). */
  applyTimeoutMs?: number;
}

const METRICS_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 30_000;
/** A worker that lived this long before dying restarts at once; quicker deaths back off. */
const STABLE_MS = 30_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5000;

type Outcome = ApplyReply | Error;
type Refusal = Extract<ApplyResult, { ok: false }>;

function applied(o: Outcome | undefined): o is ApplyReply & { result: { ok: true } } {
  return o !== undefined && !(o instanceof Error) && o.result.ok;
}

function why(o: Outcome): string {
  return o instanceof Error ? o.message : o.result.ok ? 'applied' : o.result.error.message;
}

function refused(input: unknown, code: string, message: string, problems?: TableProblem[]): Refusal {
  const raw = input as { epoch?: unknown; version?: unknown } | null;
  return {
    ok: false,
    epoch: typeof raw?.epoch === 'string' ? raw.epoch : undefined,
    version: typeof raw?.version === 'number' ? raw.version : undefined,
    error: { code, message, ...(problems ? { problems } : {}) },
  };
}

export class WorkerPool implements ProxyHost {
  readonly registry: Registry;
  readonly log: Logger;
  readonly size: number;
  readonly #opts: WorkerPoolOptions;
  readonly #limits: ProxyLimits;
  readonly #applyTimeoutMs: number;
  readonly #slots: WorkerSlot[] = [];
  readonly #zones = new ZoneBuffers();
  /** Buffers of the apply in progress: a worker dying meanwhile may hold locks there too. */
  #pendingOffer: ZoneOffer = [];
  #current: AppliedTable | undefined = undefined;
  readonly #sent = { tables: 0, deltas: 0 };
  #routes: RouteSummary[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Quick consecutive failures per slot index, for the restart backoff. */
  readonly #failures: number[];
  /** Each slot's last scraped metrics, kept for when it exits. */
  readonly #lastMetrics = new Map<WorkerSlot, WorkerMetrics>();
  readonly #retired = new RetiredCounts();
  readonly #restarts: Counter<'reason'>;

  private constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new HostmeshError('WORKERS_INVALID', `worker count must be a whole number >= 1, got ${opts.workers}`);
    this.#opts = opts;
    this.size = opts.workers;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#applyTimeoutMs = opts.applyTimeoutMs ?? 60_000;
    this.#failures = Array.from({ length: opts.workers }, () => 0);
    this.log = opts.log ?? createLogger('hostmesh-proxy');
    this.registry = opts.registry ?? new Registry();
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const slots = this.#slots;
    this.registry.registerMetric(new Gauge({
      name: 'hostmesh_workers',
      help: 'Proxy worker threads running.',
      registers: [],
      collect() {
        this.set(slots.filter((s) => s.alive).length);
      },
    }));
    this.#restarts = new Counter({ name: 'hostmesh_worker_restarts_total', help: 'Proxy worker threads replaced: crash (exited unexpectedly) or apply (failed to apply a table the others applied).', labelNames: ['reason'], registers: [this.registry] });
    this.#restarts.inc({ reason: 'crash' }, 0);
    this.#restarts.inc({ reason: 'apply' }, 0);
  }

  /** Starts `workers` threads; resolves once all are ready (or rejects, stopping those started). */
  static async start(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    const started = await Promise.allSettled(Array.from({ length: pool.size }, (_, i) => WorkerSlot.start(pool.#init(i + 1), pool.#onExit, START_TIMEOUT_MS)));
    for (const s of started) if (s.status === 'fulfilled') pool.#slots.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      pool.#closed = true;
      await Promise.all(pool.#slots.map((s) => s.kill()));
      throw failed.reason;
    }
    pool.log.info({ workers: pool.size }, `proxy workers started: ${pool.size}`);
    return pool;
  }

  get ready(): boolean {
    return this.#current !== undefined;
  }

  get current(): AppliedTable | undefined {
    return this.#current;
  }

  routes(): RouteSummary[] {
    return this.#routes;
  }

  apply(input: unknown): Promise<ApplyResult> {
    return this.#enqueue(() => this.#apply(input));
  }

  /**
   * Checks the delta against the table served here, then hands each worker the delta itself
   * (a few hundred bytes to copy, and the worker patches only what changed); a worker that
   * cannot apply it (it does not serve the delta's base, after a replacement say) gets the
   * whole resulting table instead.
   */
  applyDelta(input: unknown): Promise<ApplyResult> {
    return this.#enqueue(async () => {
      if (this.#closed) return refused(input, 'PROXY_CLOSED', 'the proxy is closed');
      const current = this.#current;
      if (current === undefined) return refused(input, DELTA_GAP, 'a delta arrived before any table was applied');
      const d = applyTableDelta(current.table, current.digest, input);
      if (!d.ok) return refused(input, d.gap ? DELTA_GAP : 'TABLE_INVALID', `delta refused: ${formatProblems(d.problems)}`, d.problems);
      return this.#apply(input, {
        table: d.table,
        applyOn: async (slot, table, offer) => {
          this.#sent.deltas++;
          const viaDelta = await this.#call(slot, { type: 'delta', delta: input, zones: offer });
          if (applied(viaDelta)) return viaDelta;
          // A refusal the others share (a port that cannot open) shows again on the full table.
          return this.#applyOn(slot, table, offer);
        },
      });
    });
  }

  /** What the workers were sent: whole tables and deltas (tests, and the bench, read it). */
  get sent(): { tables: number; deltas: number } {
    return { ...this.#sent };
  }

  /** Prometheus text: the main thread's registry, then every worker's metrics aggregated. */
  async scrape(): Promise<string> {
    const live = (await this.workerMetrics()).filter((p): p is WorkerMetrics => p !== undefined);
    const aggregated = AggregatorRegistry.aggregate([...live, this.#retired.prune(live)]);
    return `${await this.registry.metrics()}\n${await aggregated.metrics()}`;
  }

  /** Each worker's own metrics, by slot (undefined for one that did not answer). */
  workerMetrics(): Promise<(WorkerMetrics | undefined)[]> {
    return Promise.all(this.#slots.map(async (s) => {
      try {
        const m = await s.call<WorkerMetrics>({ type: 'metrics' }, METRICS_TIMEOUT_MS);
        this.#lastMetrics.set(s, m);
        return m;
      } catch (err) {
        this.log.warn({ worker: s.id, err: errorMessage(err) }, 'a proxy worker did not return its metrics; this scrape leaves it out');
        return undefined;
      }
    }));
  }

  /** Live stats and tap of every worker, summed (a worker that does not answer is left out). */
  async live(taps: readonly TapSubscription[]): Promise<LiveSample> {
    const samples = await Promise.all(this.#slots.map((s) => s.call<LiveSample>({ type: 'live', taps: [...taps] }, METRICS_TIMEOUT_MS).catch(() => undefined)));
    return mergeSamples(samples.filter((x): x is LiveSample => x !== undefined));
  }

  /** Drains every worker's listeners, then ends the threads. */
  close(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) return;
      this.#closed = true;
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      await Promise.all(this.#slots.map((s) => s.stop(this.#limits.drainTimeoutMs + 5000)));
    });
  }

  /** Test hook: worker `index` (0-based) throws an uncaught error, as a crash would. */
  crashWorker(index: number): void {
    this.#slots[index]?.send({ type: 'crash' });
  }

  /** Test hook: worker `index` blocks its event loop for `ms`, as a stuck worker would. */
  stallWorker(index: number, ms: number): void {
    this.#slots[index]?.send({ type: 'stall', ms });
  }

  /**
   * Test hook: worker `index` alone applies `table` (with the rate-limit zones in use), as a
   * worker that missed versions would serve another table than the rest; whether it applied it.
   */
  applyOnWorker(index: number, table: RoutingTable): Promise<boolean> {
    return this.#enqueue(async () => {
      const slot = this.#slots[index];
      return slot !== undefined && applied(await this.#call(slot, { type: 'apply', table, zones: this.#zones.current() }));
    });
  }

  /** Thread ids of the workers by slot (a dead one's until its replacement serves the table). */
  threadIds(): number[] {
    return this.#slots.map((s) => s.threadId);
  }

  #init(id: number): WorkerInit {
    return {
      id,
      host: this.#opts.host ?? '127.0.0.1',
      // The process's open files are shared: each worker admits its share of client connections.
      limits: { ...this.#opts.limits, connectionShare: 1 / this.size },
      affinitySecret: this.#opts.affinitySecret,
      accessLog: this.#opts.accessLog ?? false,
      tracing: this.#opts.tracing === undefined ? undefined : { ...this.#opts.tracing, collector: String(this.#opts.tracing.collector) },
      logName: (this.log.bindings().name as string | undefined) ?? 'hostmesh-proxy',
      logLevel: this.log.level,
      heapMb: this.#opts.heapMb,
    };
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Applies a table on every worker. `delta`: the table was made by a checked delta (`input`),
   * and `applyOn` sends each worker that delta.
   */
  async #apply(input: unknown, delta?: { table: RoutingTable; applyOn: (slot: WorkerSlot, table: RoutingTable, offer: ZoneOffer) => Promise<Outcome> }): Promise<ApplyResult> {
    if (this.#closed) return refused(input, 'PROXY_CLOSED', 'the proxy is closed');
    let table: RoutingTable;
    if (delta !== undefined) table = delta.table;
    else {
      const v = validateTable(input);
      if (!v.ok) return refused(input, 'TABLE_INVALID', `routing table refused: ${formatProblems(v.problems)}`, v.problems);
      table = v.table;
    }
    const applyOn = delta?.applyOn ?? ((slot: WorkerSlot, t: RoutingTable, offer: ZoneOffer): Promise<Outcome> => this.#applyOn(slot, t, offer));
    let offer: ZoneOffer;
    try {
      offer = this.#zones.plan(table.routes);
    } catch (err) {
      return refused(input, isHostmeshError(err) ? err.code : 'PROXY_BUILD_FAILED', errorMessage(err));
    }
    this.#pendingOffer = offer;
    try {
      const outcomes = await Promise.all(this.#slots.map((s) => applyOn(s, table, offer)));
      const failed = outcomes.flatMap((o, i) => (applied(o) ? [] : [i]));
      if (failed.length === 0) return this.#commit(table, offer, outcomes[0] as ApplyReply, []);
      if (failed.length === outcomes.length) {
        // Nobody took the table, so nothing changed; a worker that crashed or hung is replaced.
        for (const i of failed) if (outcomes[i] instanceof Error) await this.#replaceNow(i, 'apply', this.#current?.table, this.#zones.current());
        const refusal = outcomes.find((o): o is ApplyReply => !(o instanceof Error));
        return refusal !== undefined ? refusal.result : refused(input, 'WORKER_APPLY_FAILED', `no proxy worker could apply routing table ${table.epoch}/${table.version}: ${why(outcomes[0]!)}`);
      }
      const notes: string[] = [];
      for (const i of failed) {
        const id = this.#slots[i]!.id;
        this.log.error({ worker: id, version: table.version, err: why(outcomes[i]!) }, `proxy worker ${id} failed to apply a table the other workers applied; replacing it`);
        const again = await this.#replaceNow(i, 'apply', table, offer);
        if (!applied(again)) return this.#rollBack(input, table, `proxy worker ${id} failed to apply routing table ${table.epoch}/${table.version} twice (${why(outcomes[i]!)}; then ${again === undefined ? 'it did not start' : why(again)}); every worker went back to the previous table`);
        notes.push(`proxy worker ${id} failed to apply this table (${why(outcomes[i]!)}) and was replaced by one that did`);
      }
      return this.#commit(table, offer, outcomes.find(applied)!, notes);
    } finally {
      this.#pendingOffer = [];
    }
  }

  async #applyOn(slot: WorkerSlot, table: RoutingTable, offer: ZoneOffer): Promise<Outcome> {
    this.#sent.tables++;
    return this.#call(slot, { type: 'apply', table, zones: offer });
  }

  async #call(slot: WorkerSlot, message: CallBody): Promise<Outcome> {
    try {
      return await slot.call<ApplyReply>(message, this.#applyTimeoutMs);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  #commit(table: RoutingTable, offer: ZoneOffer, reply: ApplyReply, notes: string[]): ApplyResult {
    const r = reply.result;
    if (!r.ok) throw new Error('commit of a refused apply');
    this.#zones.commit(offer);
    this.#current = { table, digest: r.digest, appliedAt: Date.now() };
    this.#routes = reply.routes;
    return notes.length > 0 ? { ...r, warnings: [...r.warnings, ...notes] } : r;
  }

  /** After a partial apply that could not be completed: every worker back to the previous table. */
  async #rollBack(input: unknown, table: RoutingTable, message: string): Promise<ApplyResult> {
    const prev = this.#current;
    const prevOffer = this.#zones.current();
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]!;
      if (prev === undefined) {
        // Nothing to go back to: fresh, empty workers.
        await this.#replaceNow(i, 'apply', undefined, prevOffer);
        continue;
      }
      const o = await this.#applyOn(slot, prev.table, prevOffer);
      if (!applied(o)) await this.#replaceNow(i, 'apply', prev.table, prevOffer);
    }
    this.log.error({ version: table.version }, message);
    return refused(input, 'WORKER_APPLY_FAILED', message);
  }

  /**
   * Replaces slot `i` by a fresh worker that applies `table` (if any). Returns the fresh
   * worker's outcome, or undefined when it did not start (a restart is then scheduled).
   */
  async #replaceNow(i: number, reason: 'apply', table: RoutingTable | undefined, offer: ZoneOffer): Promise<Outcome | undefined> {
    const old = this.#slots[i]!;
    // A dead worker was already counted (and its restart scheduled) as a crash.
    if (old.alive) {
      this.#restarts.inc({ reason });
      const last = await old.call<WorkerMetrics>({ type: 'metrics' }, 1000).catch(() => undefined);
      if (last !== undefined) this.#lastMetrics.set(old, last);
    }
    await old.kill();
    this.#retire(old, offer);
    const fresh = await this.#startReplacement(i, old.id);
    if (fresh === undefined) return undefined;
    this.#slots[i] = fresh;
    return table === undefined ? undefined : this.#applyOn(fresh, table, offer);
  }

  /** A new worker for slot `i`; when it cannot start, a later restart is scheduled and undefined returned. */
  async #startReplacement(i: number, id: number): Promise<WorkerSlot | undefined> {
    try {
      return await WorkerSlot.start(this.#init(id), this.#onExit, START_TIMEOUT_MS);
    } catch (err) {
      this.log.error({ worker: id, err: errorMessage(err) }, `proxy worker ${id} could not be restarted; trying again`);
      this.#restartLater(i);
      return undefined;
    }
  }

  /** A dead worker's locks are freed and its counts kept. */
  #retire(slot: WorkerSlot, offer: ZoneOffer): void {
    this.#zones.releaseLocks(slot.id, offer);
    const last = this.#lastMetrics.get(slot);
    if (last !== undefined) this.#retired.add(last);
    this.#lastMetrics.delete(slot);
  }

  readonly #onExit = (slot: WorkerSlot, code: number, error: Error | undefined): void => {
    const i = slot.id - 1;
    if (slot.stopping || this.#closed || this.#slots[i] !== slot) return;
    this.#restarts.inc({ reason: 'crash' });
    this.#retire(slot, this.#pendingOffer);
    if (Date.now() - slot.startedAt >= STABLE_MS) this.#failures[i] = 0;
    this.log.error({ worker: slot.id, code, err: error === undefined ? undefined : errorMessage(error) }, `proxy worker ${slot.id} exited unexpectedly; the other workers keep serving and a new worker takes its place`);
    this.#restartLater(i);
  };

  #restartLater(i: number): void {
    if (this.#closed) return;
    const n = this.#failures[i]!;
    this.#failures[i] = n + 1;
    const delay = n === 0 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** (n - 1), BACKOFF_MAX_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#enqueue(() => this.#restart(i));
    }, delay);
    this.#timers.add(timer);
  }

  /** Starts a worker in slot `i` (if it is still dead) with the current table. */
  async #restart(i: number): Promise<void> {
    const old = this.#slots[i]!;
    if (this.#closed || old.alive) return;
    const fresh = await this.#startReplacement(i, old.id);
    if (fresh === undefined) return;
    // The slot takes the new worker once it serves the current table (until then the slot
    // still holds the dead one, so metrics and thread ids show no half-started worker).
    const cur = this.#current;
    const o = cur === undefined ? undefined : await this.#applyOn(fresh, cur.table, this.#zones.current());
    if (cur === undefined || applied(o)) {
      this.#slots[i] = fresh;
      this.log.info({ worker: fresh.id, version: cur?.table.version }, `proxy worker ${fresh.id} restarted${cur ? ` and serves version ${cur.table.version}` : ''}`);
      return;
    }
    this.log.error({ worker: fresh.id, version: cur.table.version, err: o === undefined ? undefined : why(o) }, `restarted proxy worker ${fresh.id} failed to apply the current table; trying again`);
    this.#restarts.inc({ reason: 'apply' });
    await fresh.kill();
    this.#retire(fresh, []);
    this.#restartLater(i);
  }
}
