/**
 * The proxy's side of distribution: follows the controller's watch stream, applies each new
 * snapshot through the engine, acks the outcome, and keeps the last good table on disk.
 *
 * Fail static: at start the saved table is applied before the controller is contacted, and
 * nothing the controller does (being down, sending a bad table) removes a table that works.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ACK_PATH, NDJSON, WATCH_PATH, emptyTable, formatSince, tableDigest } from '../../table/index.ts';
import type { AckReport, RoutingTable } from '../../table/index.ts';
import type { IncomingMessage } from 'node:http';
import { HostmeshError, errorMessage, isHostmeshError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { Backoff } from './backoff.ts';
import { collectGarbage } from './collect.ts';
import { ControllerHttp } from './controller-http.ts';
import type { BackoffOptions } from './backoff.ts';
import { LatestWorker } from './latest.ts';
import { LineSplitter } from './lines.ts';
import { loadState, removeStaleTemps, saveState } from './state.ts';

/**
 * What the engine answers when asked to apply a snapshot or a delta: on success, the table it
 * serves now and its digest; on refusal, why, and whether it was a gap (a delta that does not
 * follow the table served: the client then asks for a snapshot instead of reporting a refusal).
 */
export type ApplyOutcome = { ok: true; digest: string; table: RoutingTable } | { ok: false; error: string; gap?: boolean };

export interface ConfigClientOptions {
  /** Controller base URL, e.g. http://hostmesh-controller.hostmesh.svc:8440 (a path prefix is kept). */
  controllerUrl: string | URL;
  node: string;
  token: string;
  stateDir: string;
  /**
   * Validates and applies a snapshot as received (untrusted) atomically, like
   * `ProxyEngine.apply`: a refusal leaves the previous table serving, and a table whose digest
   * equals the one served is a cheap no-op. Validation and hashing happen there, once.
   */
  apply: (table: unknown) => Promise<ApplyOutcome>;
  /** Applies a delta (untrusted) on top of the table served, atomically, like `ProxyEngine.applyDelta`. */
  applyDelta: (delta: unknown) => Promise<ApplyOutcome>;
  log: Logger;
  /** Reconnect when no byte arrives for this long, ms (default 35 s: three heartbeats and some slack). */
  idleTimeoutMs?: number;
  /**
   * Shortest time between the starts of two saves of the table to the state directory, ms
   * (default 1 s). A table applied meanwhile is saved at the end of it (only the newest).
   */
  saveIntervalMs?: number;
  /** Longest watch line accepted, bytes (default 256 MiB). */
  maxLineBytes?: number;
  backoff?: BackoffOptions;
  /** Timeout of one ack request, ms (default 10 s). */
  ackTimeoutMs?: number;
  /** Deltas waiting to be applied before the client gives up on them and asks for a snapshot (default 1,000). */
  maxQueuedDeltas?: number;
  /**
   * Once this many bytes of updates were received since the last time (default 4 MiB: a
   * snapshot of a few thousand Services), a memory-reducing full garbage collection runs when
   * nothing was applied or saved for `idleCollectMs` (default 5 s; 0: never). See collect.ts.
   */
  idleCollectBytes?: number;
  idleCollectMs?: number;
}

export interface AppliedState {
  epoch: string;
  version: number;
  digest: string;
  /** RFC 3339 time the table was applied (or adopted, when only its version changed). */
  at: string;
  /** `saved`: loaded from the state directory at start; `controller`: received on the watch. */
  source: 'saved' | 'controller';
}

export interface ConfigClientStatus {
  /** A watch stream to the controller is open. */
  connected: boolean;
  /** The table being served, if any. */
  applied?: AppliedState;
  /** The controller's current epoch and version, as last heard. */
  controller?: { epoch: string; version: number };
  /** Latest problem: a refused snapshot, a connection failure, a failed save. */
  lastError?: { message: string; time: string };
  /** Snapshots and deltas applied since start, and gaps that made the client ask for a snapshot. */
  counts: { snapshots: number; deltas: number; gaps: number };
}

type Update = { kind: 'snapshot'; raw: unknown } | { kind: 'delta'; raw: unknown };

export const DEFAULT_IDLE_TIMEOUT_MS = 35_000;
export const DEFAULT_SAVE_INTERVAL_MS = 1000;
const DEFAULT_IDLE_COLLECT_BYTES = 4 * 1024 * 1024;
const DEFAULT_IDLE_COLLECT_MS = 5000;
const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;
const EMPTY_DIGEST = tableDigest(emptyTable('none'));

export class ConfigClient {
  readonly #opts: ConfigClientOptions;
  readonly #log: Logger;
  readonly #http: ControllerHttp;
  readonly #origin: string;
  #authorization: string;
  readonly #idleTimeoutMs: number;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  readonly #acks: LatestWorker<AckReport>;
  readonly #saves: LatestWorker<RoutingTable>;
  /** Snapshots and deltas to apply, in order; a snapshot replaces whatever waits before it. */
  #updates: Update[] = [];
  #applying: Promise<void> | undefined;
  /** The current watch request, aborted to resync after a gap. */
  #attempt: AbortController | undefined;
  /** A gap was seen: the next watch asks for a snapshot (no `since`) and ignores deltas until one arrives. */
  #resync = false;
  readonly #counts = { snapshots: 0, deltas: 0, gaps: 0 };
  #applied: AppliedState | undefined;
  #controller: { epoch: string; version: number } | undefined;
  #connected = false;
  #lastError: { message: string; time: string } | undefined;
  #lastLoggedError = '';
  #loop: Promise<void> | undefined;
  #stopped = false;
  /** Bytes of watch lines since the last idle collection, and its timer. */
  #receivedSinceCollect = 0;
  #collectTimer: NodeJS.Timeout | undefined;
  /** Idle collections run (status and tests). */
  collections = 0;

  constructor(options: ConfigClientOptions) {
    this.#opts = options;
    this.#log = options.log;
    this.#http = new ControllerHttp(options.controllerUrl, 4);
    this.#origin = this.#http.origin;
    this.#authorization = `Bearer ${options.token.trim()}`;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#backoff = new Backoff(options.backoff);
    this.#acks = new LatestWorker((ack) => this.#sendAck(ack));
    // Each save serializes the full table (megabytes at 10,000 Services): while changes stream
    // in, the newest table is saved at most once per interval instead of after every version.
    this.#saves = new LatestWorker((table) => this.#save(table), options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS);
  }

  /** A rotated token (the token file changed): used from the next request on. */
  setToken(token: string): void {
    this.#authorization = `Bearer ${token.trim()}`;
  }


  /**
   * Applies the saved table (if any and valid), then starts following the controller in the
   * background. Resolves once the saved table has been dealt with.
   */
  async start(): Promise<void> {
    if (this.#loop !== undefined || this.#stopped) throw new HostmeshError('CONFIG_CLIENT_STATE', 'config client: start() may be called once');
    this.#loop = Promise.resolve();
    await this.#loadSaved();
    if (!this.#stopped) this.#loop = this.#run();
  }

  /** Closes the watch, waits for a running apply and save to finish, and releases connections. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.#updates = [];
    clearTimeout(this.#collectTimer);
    await this.#loop;
    while (this.#applying !== undefined) await this.#applying;
    await this.#saves.idle();
    this.#acks.stop();
    await this.#acks.idle();
    this.#http.destroy();
  }

  status(): ConfigClientStatus {
    const s: ConfigClientStatus = { connected: this.#connected, counts: { ...this.#counts } };
    if (this.#applied) s.applied = { ...this.#applied };
    if (this.#controller) s.controller = { ...this.#controller };
    if (this.#lastError) s.lastError = { ...this.#lastError };
    return s;
  }

  async #loadSaved(): Promise<void> {
    const dir = this.#opts.stateDir;
    await removeStaleTemps(dir);
    const saved = await loadState(dir);
    if (saved.kind === 'missing') {
      this.#log.info({ path: saved.path }, 'no saved routing table; waiting for the controller');
      return;
    }
    if (saved.kind === 'invalid') {
      this.#error(`ignored the saved routing table ${saved.path}: ${saved.error}`);
      return;
    }
    const { table } = saved;
    const outcome = await this.#callApply(table);
    if (!outcome.ok) {
      this.#error(`the saved routing table ${formatSince(table.epoch, table.version)} was refused: ${outcome.error}`);
      return;
    }
    this.#applied = { epoch: table.epoch, version: table.version, digest: outcome.digest, at: new Date().toISOString(), source: 'saved' };
    // A large saved table leaves as much garbage as the same snapshot from the controller.
    this.#receivedSinceCollect += saved.chars;
    this.#collectWhenIdle();
    this.#log.info({ epoch: table.epoch, version: table.version, path: saved.path }, 'serving the saved routing table until the controller answers');
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const resyncing = this.#resync;
      try {
        await this.#watchOnce();
      } catch (e) {
        if (this.#resync && !resyncing && !this.#stopped) {
          // Aborted on purpose after a gap: reconnect at once for a snapshot.
          this.#connected = false;
          continue;
        }
        if (!this.#stopped) {
          const message = isHostmeshError(e) ? e.message : `cannot watch the controller at ${this.#origin}: ${errorMessage(e)}`;
          this.#error(message, isHostmeshError(e, 'CONTROLLER_UNAUTHORIZED') ? 'error' : 'warn');
        }
      }
      this.#connected = false;
      if (this.#stopped) break;
      try {
        await sleep(this.#backoff.next(), undefined, { signal: this.#abort.signal });
      } catch {
        // aborted by stop()
      }
    }
  }

  /** One watch request, until it fails or ends (both mean: reconnect). */
  async #watchOnce(): Promise<void> {
    const attempt = new AbortController();
    this.#attempt = attempt;
    const onStop = (): void => attempt.abort();
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    let idle = false;
    const timer = setTimeout(() => {
      idle = true;
      attempt.abort();
    }, this.#idleTimeoutMs);
    try {
      const since = this.#applied && !this.#resync ? `&since=${encodeURIComponent(formatSince(this.#applied.epoch, this.#applied.version))}` : '';
      // No timeout of its own: the idle timer above covers the wait for the head and the body.
      const res = await this.#http.request({
        path: `${WATCH_PATH}?node=${encodeURIComponent(this.#opts.node)}${since}`,
        method: 'GET',
        headers: { authorization: this.#authorization, accept: NDJSON },
        signal: attempt.signal,
      });
      if (res.statusCode !== 200) {
        const text = errorText(await readSome(res, 300));
        if (res.statusCode === 401) {
          throw new HostmeshError('CONTROLLER_UNAUTHORIZED', `the controller refused the token (401: ${text}); check that the token file holds the controller's token`);
        }
        throw new HostmeshError('CONTROLLER_STATUS', `the controller answered the watch with ${res.statusCode}: ${text}`);
      }
      this.#connected = true;
      const splitter = new LineSplitter(this.#opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
      let first = true;
      const onLine = (line: string): void => {
        this.#receivedSinceCollect += line.length;
        this.#onMessage(line, first);
        first = false;
      };
      await eachChunk(res, (chunk) => {
        timer.refresh();
        splitter.pushText(chunk, onLine);
      });
      throw new HostmeshError('WATCH_ENDED', 'the controller ended the watch stream');
    } catch (e) {
      if (idle) throw new HostmeshError('WATCH_IDLE', `nothing from the controller for ${this.#idleTimeoutMs} ms; reconnecting`);
      throw e;
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener('abort', onStop);
    }
  }

  #onMessage(line: string, first: boolean): void {
    let msg: { type?: unknown; table?: unknown; epoch?: unknown; version?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch (e) {
      throw new HostmeshError('WATCH_BAD_LINE', `the controller sent a line that is not JSON: ${errorMessage(e)}`);
    }
    if (first) {
      this.#backoff.reset();
      // The next failure is news again, worth a warning.
      this.#lastLoggedError = '';
      this.#log.info({ controller: this.#origin }, 'following the controller');
    }
    if (msg === null || typeof msg !== 'object') throw new HostmeshError('WATCH_BAD_LINE', 'the controller sent a line that is not a JSON object');
    if (msg.type === 'snapshot') {
      const t = msg.table as { epoch?: unknown; version?: unknown } | null | undefined;
      if (typeof t?.epoch === 'string' && typeof t.version === 'number') this.#controller = { epoch: t.epoch, version: t.version };
      this.#resync = false;
      this.#updates = [{ kind: 'snapshot', raw: msg.table }];
      this.#applying ??= this.#drain();
      return;
    }
    if (msg.type === 'delta') {
      const d = (msg as { delta?: { epoch?: unknown; version?: unknown } }).delta;
      if (typeof d?.epoch === 'string' && typeof d.version === 'number') this.#controller = { epoch: d.epoch, version: d.version };
      if (this.#resync) return;
      if (this.#updates.length >= (this.#opts.maxQueuedDeltas ?? 1000)) {
        this.#gap(`${this.#updates.length} deltas are waiting to be applied`);
        return;
      }
      this.#updates.push({ kind: 'delta', raw: d });
      this.#applying ??= this.#drain();
      return;
    }
    if (msg.type !== 'heartbeat' || typeof msg.epoch !== 'string' || typeof msg.version !== 'number') return;
    this.#controller = { epoch: msg.epoch, version: msg.version };
    // The controller sends no snapshot when we are current; tell it what we serve, since it
    // may not know (this proxy restarted from its saved table, or an ack was lost).
    const a = this.#applied;
    if (first && a && a.epoch === msg.epoch && a.version === msg.version) this.#ack(a.epoch, a.version, true);
  }

  /** Applies waiting updates one at a time, in order; an update offered meanwhile is picked up here. */
  async #drain(): Promise<void> {
    try {
      for (let u = this.#updates.shift(); u !== undefined; u = this.#updates.shift()) await this.#process(u);
    } finally {
      this.#applying = undefined;
    }
  }

  /** Applies one snapshot or delta (the applier validates it); acks it and saves the result; never throws. */
  async #process(update: Update): Promise<void> {
    const { raw } = update;
    const outcome = await this.#callApply(raw, update.kind);
    if (!outcome.ok) {
      if (outcome.gap === true) {
        this.#gap(outcome.error);
        return;
      }
      const o = (typeof raw === 'object' && raw !== null ? raw : {}) as { epoch?: unknown; version?: unknown };
      const epoch = typeof o.epoch === 'string' && o.epoch !== '' ? o.epoch.slice(0, 200) : 'unknown';
      const version = typeof o.version === 'number' && Number.isSafeInteger(o.version) && o.version >= 0 ? o.version : 0;
      this.#refuse(epoch, version, outcome.error);
      return;
    }
    const table = outcome.table;
    this.#counts[update.kind === 'snapshot' ? 'snapshots' : 'deltas']++;
    // Same routing under a new number (e.g. a restarted controller) changed nothing: adopt the version.
    if (this.#applied?.digest !== outcome.digest) this.#log.info({ epoch: table.epoch, version: table.version, kind: update.kind }, 'applied routing table');
    this.#applied = { epoch: table.epoch, version: table.version, digest: outcome.digest, at: new Date().toISOString(), source: 'controller' };
    this.#ack(table.epoch, table.version, true);
    // Only the newest table is written when applies outrun the disk; each write is a full table.
    this.#saves.offer(table);
    this.#collectWhenIdle();
  }

  /**
   * (Re)arms the idle collection once enough was received: it runs when neither an apply nor a
   * save happened for the idle time, and re-arms while one is still running.
   */
  #collectWhenIdle(): void {
    const ms = this.#opts.idleCollectMs ?? DEFAULT_IDLE_COLLECT_MS;
    if (ms <= 0 || this.#stopped || this.#receivedSinceCollect < (this.#opts.idleCollectBytes ?? DEFAULT_IDLE_COLLECT_BYTES)) return;
    clearTimeout(this.#collectTimer);
    this.#collectTimer = setTimeout(() => {
      this.#collectTimer = undefined;
      if (this.#stopped) return;
      if (this.#applying !== undefined || !this.#saves.isIdle) {
        this.#collectWhenIdle();
        return;
      }
      this.#receivedSinceCollect = 0;
      this.collections++;
      collectGarbage();
    }, ms);
    this.#collectTimer.unref();
  }

  /** The updates no longer follow the table served: drop them and reconnect for a snapshot. */
  #gap(why: string): void {
    this.#counts.gaps++;
    this.#log.warn({ why }, 'gap in routing-table versions; asking the controller for a snapshot');
    this.#updates = [];
    this.#resync = true;
    this.#attempt?.abort();
  }

  async #save(table: RoutingTable): Promise<void> {
    try {
      await saveState(this.#opts.stateDir, table);
    } catch (e) {
      this.#error(`could not save the routing table to ${this.#opts.stateDir}: ${errorMessage(e)}`);
    }
    // The save's pieces are garbage now too: the idle time counts from here.
    this.#collectWhenIdle();
  }

  async #callApply(raw: unknown, kind: Update['kind'] = 'snapshot'): Promise<ApplyOutcome> {
    try {
      return await (kind === 'snapshot' ? this.#opts.apply(raw) : this.#opts.applyDelta(raw));
    } catch (e) {
      return { ok: false, error: errorMessage(e) };
    }
  }

  #refuse(epoch: string, version: number, error: string): void {
    this.#error(`refused routing table ${formatSince(epoch, version)}, still serving ${this.#applied ? formatSince(this.#applied.epoch, this.#applied.version) : 'nothing'}: ${error}`, 'error');
    this.#ack(epoch, version, false, error);
  }

  #ack(epoch: string, version: number, applied: boolean, error?: string): void {
    const report: AckReport = {
      node: this.#opts.node,
      epoch,
      version,
      digest: this.#applied?.digest ?? EMPTY_DIGEST,
      applied,
      time: new Date().toISOString(),
    };
    if (error !== undefined) report.error = error;
    this.#acks.offer(report);
  }

  async #sendAck(report: AckReport): Promise<void> {
    const timeout = this.#opts.ackTimeoutMs ?? 10_000;
    try {
      const res = await this.#http.request({
        path: ACK_PATH,
        method: 'POST',
        headers: { authorization: this.#authorization, 'content-type': 'application/json' },
        body: JSON.stringify(report),
        signal: this.#abort.signal,
        timeoutMs: timeout,
      });
      const text = errorText(await readSome(res, 300));
      if (res.statusCode !== 204) this.#error(`the controller answered an ack with ${res.statusCode}: ${text}`);
    } catch (e) {
      // A lost ack is repaired on reconnect: the first heartbeat re-acks the table we serve.
      if (!this.#stopped) this.#log.debug({ err: errorMessage(e) }, 'ack not delivered');
    }
  }

  /** Records a problem; repeats of the same message are logged at debug so an outage is not a flood. */
  #error(message: string, level: 'warn' | 'error' = 'warn'): void {
    this.#lastError = { message, time: new Date().toISOString() };
    if (message === this.#lastLoggedError) {
      this.#log.debug(message);
    } else {
      this.#lastLoggedError = message;
      this.#log[level](message);
    }
  }
}

/**
 * Calls `onChunk` with each chunk of `body` as it arrives; resolves at its end, rejects when it
 * fails or `onChunk` throws (the body is destroyed then). Not `for await`: the async iterator
 * reads with `read()`, which concatenates whatever is buffered into a new Buffer, so every byte
 * of a 14 MB snapshot went through malloc twice (234 such Buffers of ~64 KiB in a cold start),
 * leaving holes in malloc's heap that the RSS keeps (issue 12).
 */
function eachChunk(body: IncomingMessage, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = false;
    body.on('data', (chunk: Buffer) => {
      try {
        onChunk(chunk);
      } catch (e) {
        body.destroy();
        reject(e as Error);
      }
    });
    body.once('end', () => {
      ended = true;
      resolve();
    });
    body.once('error', reject);
    body.once('close', () => {
      if (!ended) reject(new HostmeshError('WATCH_ENDED', 'the watch stream was cut'));
    });
  });
}

/** The start of a response body (error texts), without reading an unbounded one. */
async function readSome(body: AsyncIterable<unknown> & { destroy(): unknown }, max: number): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += String(chunk);
      if (text.length >= max) break;
    }
  } catch {
    // the status code is what matters
  } finally {
    body.destroy();
  }
  return text.slice(0, max).trim();
}

/** The message of a controller error body (`{"error":{"message"}}`), or the text as is. */
function errorText(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not one of ours: show it raw
  }
  return text;
}
