/**
 * One bench proxy: a real ConfigClient whose engine is a no-op that records when it applied.
 * Runs on the main event loop (`startClient`) or as a worker thread entry (one event loop per
 * proxy, closer to proxies on separate nodes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { ConfigClient } from '../src/proxy/config/client.ts';

export interface BenchClientConfig {
  controllerUrl: string;
  node: string;
  token: string;
}

export interface AppliedEvent {
  node: string;
  epoch: string;
  version: number;
  /** performance.timeOrigin + performance.now() when apply ran: comparable across threads. */
  at: number;
}

export interface BenchClient {
  stop(): Promise<void>;
}

export async function startClient(config: BenchClientConfig, onApplied: (e: AppliedEvent) => void): Promise<BenchClient> {
  const stateDir = await mkdtemp(join(tmpdir(), 'hostmesh-bench-'));
  const client = new ConfigClient({
    ...config,
    stateDir,
    log: pino({ level: process.env.HOSTMESH_LOG_LEVEL ?? 'warn' }),
    apply: async (table) => {
      onApplied({ node: config.node, epoch: table.epoch, version: table.version, at: performance.timeOrigin + performance.now() });
      return { ok: true };
    },
  });
  await client.start();
  return {
    async stop() {
      await client.stop();
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
