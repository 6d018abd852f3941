/**
 * Fan-out: one controller API (real Publisher and PushServer, this thread) serving many watch
 * clients over real HTTP on loopback; the clients run in one worker thread, parse every line
 * and ack every version as a proxy does (they apply nothing).
 *
 *   npm run bench:fanout -- [--clients 1000] [--services 1000] [--changes 30] [--rate 2]
 *       [--slow 100] [--slow-seconds 10]
 *
 * Phase 1 (steady): `--changes` endpoint moves at `--rate` per second. Reports the controller
 * thread's CPU per change (process.threadCpuUsage, so the clients' thread is not counted), the
 * apply lag (publish -> ack received, over every client and change: p50/p99/max) and the bytes
 * written per client per change.
 * Phase 2 (slow readers): `--slow` clients stop reading; the changes go on for `--slow-seconds`
 * with one endpoint move made larger (every endpoint moves) so their sockets fill. Reports what
 * the controller holds for them (bytes buffered in their responses, heap, RSS) and, after they
 * read again, how they caught up (snapshots vs deltas).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Publisher } from '../src/controller/push/publisher.ts';
import type { TableContent } from '../src/controller/push/publisher.ts';
import { PushServer } from '../src/controller/push/server.ts';
import { changed, content } from '../test/controller/push-fixtures.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    services: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '2' },
    slow: { type: 'string', default: '100' },
    'slow-seconds': { type: 'string', default: '10' },
  },
});
const clients = Number(args.clients);
const services = Number(args.services);
const changes = Number(args.changes);
const rate = Number(args.rate);
const slow = Math.min(clients, Number(args.slow));
const slowSeconds = Number(args['slow-seconds']);
const TOKEN = 'fanout-token';
const now = (): number => performance.timeOrigin + performance.now();
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
const q = (xs: number[], p: number): number => {
  const s = xs.toSorted((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
};

const publisher = new Publisher({ coalesceMs: 5, maxDelayMs: 20 });
const publishedAt = new Map<number, number>();
publisher.subscribe((p) => publishedAt.set(p.table.version, now()));
const lags: number[] = [];
let measuring = false;
const acked = new Map<string, number>();
const server = new PushServer({
  publisher,
  token: TOKEN,
  log: pino({ level: 'warn' }),
  heartbeatMs: 5000,
  onAck: (ack) => {
    if (!ack.applied) return;
    acked.set(ack.node, Math.max(acked.get(ack.node) ?? 0, ack.version));
    const at = publishedAt.get(ack.version);
    if (measuring && at !== undefined) lags.push(now() - at);
  },
});
const { port } = await server.listen(0, '127.0.0.1');
let base: TableContent = content(services);
publisher.publish(base);
publisher.flush();

const worker = new Worker(new URL('./fanout-clients.ts', import.meta.url), { workerData: { port, token: TOKEN, clients, slow } });
const fromWorker = (type: string): Promise<Record<string, unknown>> => new Promise((resolve) => {
  const on = (m: { type: string }): void => {
    if (m.type !== type) return;
    worker.off('message', on);
    resolve(m as Record<string, unknown>);
  };
  worker.on('message', on);
});
const everyone = async (version: number, nodes: number, limitMs: number): Promise<boolean> => {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    let n = 0;
    for (const v of acked.values()) if (v >= version) n++;
    if (n >= nodes) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
};

await fromWorker('connected');
const connectedOk = await everyone(publisher.version, clients, 120_000);
process.stdout.write(`fan-out: ${clients} watch clients (one worker thread, real HTTP on loopback), ${services} services (snapshot ${mb(Buffer.byteLength(JSON.stringify(publisher.current!.table)))}), ` +
  `node ${process.version}, ${cpus().length} cpus, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
process.stdout.write(`connect: every client has the snapshot and acked: ${connectedOk}\n`);

// Phase 1: steady changes.
const sentBytes = (): number => server.streams.reduce((n, s) => n + s.bytes, 0);
measuring = true;
const cpu0 = process.threadCpuUsage();
const bytes0 = sentBytes();
for (let n = 1; n <= changes; n++) {
  base = changed(base, n);
  publisher.publish(base);
  await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
}
const done = await everyone(publisher.version, clients, 30_000);
const cpu = process.threadCpuUsage(cpu0);
measuring = false;
const perChangeMs = (cpu.user + cpu.system) / 1000 / changes;
process.stdout.write(`steady: ${changes} changes at ${rate}/s, all acked: ${done}; controller thread CPU ${perChangeMs.toFixed(1)} ms per change ` +
  `(${((cpu.user + cpu.system) / 1000).toFixed(0)} ms total, serving ${clients} deltas and ${clients} acks per change)\n`);
process.stdout.write(`apply lag (publish -> ack at the controller), ${lags.length} acks: p50 ${q(lags, 0.5).toFixed(1)} ms, p99 ${q(lags, 0.99).toFixed(1)} ms, max ${q(lags, 1).toFixed(1)} ms; ` +
  `${((sentBytes() - bytes0) / clients / changes).toFixed(0)} bytes per client per change\n`);

// Phase 2: slow readers.
if (slow > 0) {
  worker.postMessage({ type: 'pause' });
  await fromWorker('paused');
  globalThis.gc?.();
  const heap0 = process.memoryUsage();
  const snaps0 = server.streams.reduce((n, s) => n + s.snapshots, 0);
  const end = Date.now() + slowSeconds * 1000;
  let maxBuffered = 0;
  let n = changes;
  while (Date.now() < end) {
    n++;
    // Every endpoint moves: each delta is large, so an unread socket fills quickly.
    base = { ...base, clusters: base.clusters.map((c) => ({ ...c, endpoints: c.endpoints.map((e) => ({ ...e, port: 1000 + (n % 60000) })) })) };
    publisher.publish(base);
    await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
    maxBuffered = Math.max(maxBuffered, server.streams.reduce((b, s) => b + s.bufferedBytes, 0));
  }
  const heap1 = process.memoryUsage();
  const congested = server.streams.filter((s) => s.congested).length;
  process.stdout.write(`slow readers: ${slow} clients stopped reading for ${slowSeconds} s while ${n - changes} large versions were published; ${congested} streams congested; ` +
    `bytes buffered in all responses at most ${mb(maxBuffered)}; heap ${mb(heap0.heapUsed)} -> ${mb(heap1.heapUsed)}, RSS ${mb(heap0.rss)} -> ${mb(heap1.rss)}\n`);
  worker.postMessage({ type: 'resume' });
  const caughtUp = await everyone(publisher.version, clients, 60_000);
  const snaps = server.streams.reduce((s, st) => s + st.snapshots, 0) - snaps0;
  process.stdout.write(`after resuming: every client acked the newest version: ${caughtUp}; catch-ups sent as a snapshot: ${snaps} (the rest as the deltas they missed)\n`);
}

worker.postMessage({ type: 'stop' });
await fromWorker('stopped');
await worker.terminate();
publisher.close();
await server.close();
