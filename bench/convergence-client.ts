/**
 * One bench proxy: a real ConfigClient whose engine is either a no-op that records when it
 * applied, or a real ProxyEngine (listeners on 127.0.0.1 with SO_REUSEPORT, so several bench
 * proxies share the ports as proxies on separate nodes would each own them). Runs on the main
 * event loop (`startClient`) or as a worker thread entry (one event loop per proxy, closer to
 * proxies on separate nodes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { ConfigClient } from '../src/proxy/config/client.ts';
import type { ApplyOutcome } from '../src/proxy/config/client.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import type { ApplyResult } from '../src/proxy/engine.ts';
import { applyTableDelta, DELTA_GAP, formatProblems, tableDigest, validateTable } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';

export interface BenchClientConfig {
  controllerUrl: string;
  node: string;
  token: string;
  /** `noop` records the apply and accepts; `real` applies with a ProxyEngine. */
  engine: 'noop' | 'real';
}

export interface AppliedEvent {
  node: string;
  epoch: string;
  version: number;
  /** performance.timeOrigin + performance.now() when apply ran: comparable across threads. */
  at: number;
  /** Routes and DNS names of the table applied. */
  routes: number;
  names: number;
  /** The longest event-loop delay of this proxy's thread since its previous apply, ms. */
  loopMaxMs: number;
}

export interface BenchClient {
  stop(): Promise<void>;
}

export async function startClient(config: BenchClientConfig, onApplied: (e: AppliedEvent) => void): Promise<BenchClient> {
  const stateDir = await mkdtemp(join(tmpdir(), 'hostmesh-bench-'));
  const log = pino({ level: process.env.HOSTMESH_LOG_LEVEL ?? 'warn' });
  const engine = config.engine === 'real' ? new ProxyEngine({ host: '127.0.0.1', reusePort: true, log, processMetrics: false }) : undefined;
  // Stalls of this proxy's event loop (decode, validate, apply, state save, GC) between applies.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const applied = (table: RoutingTable): void => {
    const loopMaxMs = loop.max / 1e6;
    loop.reset();
    onApplied({ node: config.node, epoch: table.epoch, version: table.version, at: performance.timeOrigin + performance.now(), routes: table.routes.length, names: table.dns.services.length, loopMaxMs });
  };
  let current: { table: RoutingTable; digest: string } | undefined;
  const outcome = (r: ApplyResult): ApplyOutcome => {
    const now = engine?.current;
    if (!r.ok || now === undefined) return { ok: false, error: r.ok ? 'no table' : r.error.message, gap: !r.ok && r.error.code === DELTA_GAP };
    applied(now.table);
    return { ok: true, digest: r.digest, table: now.table };
  };
  const client = new ConfigClient({
    controllerUrl: config.controllerUrl,
    node: config.node,
    token: config.token,
    stateDir,
    log,
    apply: async (raw): Promise<ApplyOutcome> => {
      if (!engine) {
        // A no-op engine still does an engine's first work: validate and hash the snapshot.
        const v = validateTable(raw);
        if (!v.ok) return { ok: false, error: formatProblems(v.problems) };
        current = { table: v.table, digest: tableDigest(v.table) };
        applied(v.table);
        return { ok: true, ...current };
      }
      return outcome(await engine.apply(raw));
    },
    applyDelta: async (raw): Promise<ApplyOutcome> => {
      if (!engine) {
        // The no-op engine checks and patches the table as a real one does, without listeners.
        if (current === undefined) return { ok: false, error: 'no table yet', gap: true };
        const d = applyTableDelta(current.table, current.digest, raw);
        if (!d.ok) return { ok: false, error: formatProblems(d.problems), gap: d.gap };
        current = { table: d.table, digest: d.digest };
        applied(d.table);
        return { ok: true, ...current };
      }
      return outcome(await engine.applyDelta(raw));
    },
  });
  await client.start();
  return {
    async stop() {
      loop.disable();
      await client.stop();
      await engine?.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const client = await startClient(workerData as BenchClientConfig, (e) => port.postMessage({ type: 'applied', event: e }));
  port.on('message', (m: { type: string }) => {
    if (m.type === 'stop') void client.stop().then(() => port.close());
  });
  port.postMessage({ type: 'started' });
}
