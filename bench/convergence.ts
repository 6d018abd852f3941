/**
 * Convergence: time from a change to every proxy having acked it (DESIGN.md target: a Service
 * change reaches every proxy's applied table within 200 ms p99).
 *
 *   npx node bench/convergence.ts [--source publish|api] [--engine noop|real] [--clients 3]
 *       [--sizes 10,1000,10000 | --services 10000] [--changes 40] [--coalesce-ms 50]
 *       [--max-delay-ms 250] [--same-loop] [--seconds 60] [--slowest 5] [--gap-ms 0] [--pods] [--endpoints 3]
 *
 * `--pods` (with `--source api`): every endpoint has its Pod, and each change also writes the
 * Ready condition of one pod before the EndpointSlice, as kubelet does before the EndpointSlice
 * controller: the controller sees both events, as it does in a cluster. `--endpoints N`: per
 * Service (3; 10 makes the 100,000 endpoints, and pods, at 10,000 Services).
 *
 * `--gap-ms` waits between changes, so that a run of 300 changes with a gap of 250 ms spans the
 * controller's 60 s resync as changes spread over time would (default: back to back).
 * `--slowest N` prints (to stderr) where the N slowest changes' time went: change -> the
 * controller's publish() call (watch, informer, translation; --source api only) -> the
 * publisher's flush -> the last proxy's apply -> every ack, with the longest event-loop stall
 * of the controller thread and its GC time during the change, and the longest stall of the
 * proxies' threads since their previous apply.
 *
 * Besides the lag it reports the bytes each proxy received per change (the watch stream's
 * snapshot and delta lines, counted by the controller), which deltas keep proportional to the
 * change (an endpoint move is one cluster's endpoint list), not to the table.
 *
 * The full path (issue 5): `--source api --engine real` (sizes default to 10,1000 there): each
 * change is an EndpointSlice write to the fake API server, watched by the real Controller
 * (informers, translation) publishing here, and every proxy applies it with a real ProxyEngine.
 *
 * A real publisher and controller API server on loopback, and N real config clients whose
 * engine is a no-op that records when it ran (`--engine real`: a ProxyEngine with listeners on
 * 127.0.0.1, shared between the clients with SO_REUSEPORT). By default each client has its own worker thread
 * (its own event loop, as proxies on separate nodes have); `--same-loop` runs them all on the
 * controller's event loop, which adds up their parse and validate costs. Each change waits
 * for full convergence before the next, so changes never coalesce with each other.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Publisher } from '../src/controller/push/publisher.ts';
import { PushServer } from '../src/controller/push/server.ts';
import type { RoutingTable } from '../src/table/index.ts';
import { apiServerSource } from './convergence-api-source.ts';
import { startClient } from './convergence-client.ts';
import type { AppliedEvent, BenchClient, BenchClientConfig } from './convergence-client.ts';
import { publisherSource } from './convergence-source.ts';
import type { ChangeSource } from './convergence-source.ts';

const TOKEN = 'bench-token';
const WAIT_LIMIT_MS = 30_000;
const WARMUP_CHANGES = 3;

const { values: args } = parseArgs({
  options: {
    source: { type: 'string', default: 'publish' },
    engine: { type: 'string', default: 'noop' },
    clients: { type: 'string', default: '3' },
    sizes: { type: 'string' },
    services: { type: 'string' },
    changes: { type: 'string', default: '40' },
    'coalesce-ms': { type: 'string', default: '50' },
    'max-delay-ms': { type: 'string', default: '250' },
    seconds: { type: 'string', default: '60' },
    'same-loop': { type: 'boolean', default: false },
    slowest: { type: 'string', default: '5' },
    'gap-ms': { type: 'string', default: '0' },
    pods: { type: 'boolean', default: false },
    endpoints: { type: 'string', default: '3' },
  },
});
if (args.source !== 'publish' && args.source !== 'api') throw new Error(`--source: publish or api, not ${args.source}`);
if (args.engine !== 'noop' && args.engine !== 'real') throw new Error(`--engine: noop or real, not ${args.engine}`);
const engineKind: 'noop' | 'real' = args.engine;
const clientCount = Number(args.clients);
// A real engine per client at 10,000 services is 10,000 listeners each: past common fd limits.
const sizes = (args.services ?? args.sizes ?? (args.source === 'api' ? '10,1000' : '10,1000,10000')).split(',').map(Number);
const changes = Number(args.changes);
const secondsPerSize = Number(args.seconds);

const absNow = (): number => performance.timeOrigin + performance.now();

const publisher = new Publisher({ coalesceMs: Number(args['coalesce-ms']), maxDelayMs: Number(args['max-delay-ms']) });
const publishedAt = new Map<number, number>();
publisher.subscribe((p) => publishedAt.set(p.table.version, absNow()));

// The newest version each proxy acked as applied, and who waits for a version to be everywhere.
const acked = new Map<string, number>();
const nodes = Array.from({ length: clientCount }, (_, i) => `bench-node-${i + 1}`);
let waiter: { version: number; resolve: () => void } | undefined;
const everywhere = (version: number): boolean => nodes.every((n) => (acked.get(n) ?? 0) >= version);
const server = new PushServer({
  publisher,
  token: TOKEN,
  log: pino({ level: 'warn' }),
  onAck: (ack) => {
    if (!ack.applied || ack.epoch !== publisher.epoch) return;
    acked.set(ack.node, Math.max(acked.get(ack.node) ?? 0, ack.version));
    if (waiter && everywhere(waiter.version)) waiter.resolve();
  },
});
const { port } = await server.listen(0, '127.0.0.1');

const lastApply = new Map<number, number>();
/** The longest proxy event-loop stall reported with each version's applies. */
const proxyLoopMax = new Map<number, number>();
const onApplied = (e: AppliedEvent): void => {
  if (e.epoch !== publisher.epoch) return;
  lastApply.set(e.version, Math.max(lastApply.get(e.version) ?? 0, e.at));
  proxyLoopMax.set(e.version, Math.max(proxyLoopMax.get(e.version) ?? 0, e.loopMaxMs));
};

// Where a slow change's time went: the controller thread's event-loop stalls and GC pauses
// (the fake API server, informers, translation, publisher and watch streams all run here).
const controllerLoop = monitorEventLoopDelay({ resolution: 5 });
controllerLoop.enable();
const gcPauses: { start: number; ms: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: performance.timeOrigin + e.startTime, ms: e.duration });
  if (gcPauses.length > 10_000) gcPauses.splice(0, 5000);
});
gcObserver.observe({ entryTypes: ['gc'] });
const slowest = Number(args.slowest);
const gapMs = Number(args['gap-ms']);

/** One measured change, split into stages (ms). */
interface Trace {
  n: number;
  total: number;
  /** Change -> the controller called publish() with it (watch event, informer, translation). */
  translated: number;
  /** -> the publisher's flush (coalescing). */
  published: number;
  /** -> the last proxy applied it (serialize, stream, decode, validate, apply). */
  applied: number;
  /** -> every ack received. */
  acked: number;
  controllerLoopMax: number;
  gcMs: number;
  proxyLoopMax: number;
}

function waitFor(cond: () => boolean, register: (resolve: () => void) => void, what: string): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${what}`)), WAIT_LIMIT_MS);
    register(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function allAcked(version: number): Promise<void> {
  return waitFor(() => everywhere(version), (resolve) => {
    waiter = { version, resolve: () => { waiter = undefined; resolve(); } };
  }, `every proxy to ack version ${version}`);
}

/** The first version after `version` (that contains the change, when the source can tell). */
function nextVersionAfter(version: number, contains: ((table: RoutingTable) => boolean) | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for a version after ${version}`)), WAIT_LIMIT_MS);
    const check = (): boolean => {
      const current = publisher.current?.table;
      if (current === undefined || current.version <= version || (contains !== undefined && !contains(current))) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(contains === undefined ? version + 1 : current.version);
      return true;
    };
    const unsubscribe = publisher.subscribe(() => { check(); });
    check();
  });
}

interface ThreadClient extends BenchClient { worker: Worker }

async function startClients(): Promise<BenchClient[]> {
  const configs: BenchClientConfig[] = nodes.map((node) => ({ controllerUrl: `http://127.0.0.1:${port}`, node, token: TOKEN, engine: engineKind }));
  if (args['same-loop']) return Promise.all(configs.map((c) => startClient(c, onApplied)));
  return Promise.all(configs.map((config) => new Promise<ThreadClient>((resolve, reject) => {
    const worker = new Worker(new URL('./convergence-client.ts', import.meta.url), { workerData: config });
    worker.on('error', reject);
    worker.on('message', (m: { type: string; event?: AppliedEvent }) => {
      if (m.type === 'applied' && m.event) onApplied(m.event);
      if (m.type === 'started') {
        resolve({
          worker,
          stop: async () => {
            const exited = new Promise((resolve) => worker.once('exit', resolve));
            worker.postMessage({ type: 'stop' }, []);
            const grace = setTimeout(() => void worker.terminate(), 5000);
            await exited;
            clearTimeout(grace);
          },
        });
      }
    });
  })));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

async function measure(source: ChangeSource, services: number): Promise<string> {
  await source.prepare(services);
  await allAcked(publisher.version);
  const bytes = Buffer.byteLength(JSON.stringify({ type: 'snapshot', table: publisher.current!.table }));
  const total: number[] = [];
  const fromPublish: number[] = [];
  const toLastApply: number[] = [];
  const toPublish: number[] = [];
  const perProxyBytes: number[] = [];
  const traces: Trace[] = [];
  const sentBytes = (): number => server.streams.reduce((n, st) => n + st.bytes, 0);
  const deadline = Date.now() + secondsPerSize * 1000;
  for (let n = 1; n <= WARMUP_CHANGES + changes && Date.now() < deadline; n++) {
    if (gapMs > 0 && n > 1) await new Promise((resolve) => setTimeout(resolve, gapMs));
    const before = publisher.version;
    const bytes0 = sentBytes();
    controllerLoop.reset();
    const t0 = absNow();
    const contains = source.contains;
    const next = nextVersionAfter(before, contains && ((table) => contains(table, n)));
    await source.change(n);
    const version = await next;
    await allAcked(version);
    const t1 = absNow();
    if (n <= WARMUP_CHANGES) continue;
    perProxyBytes.push((sentBytes() - bytes0) / Math.max(1, server.streams.length));
    total.push(t1 - t0);
    fromPublish.push(t1 - (publishedAt.get(version) ?? t0));
    toLastApply.push((lastApply.get(version) ?? t1) - t0);
    toPublish.push((publishedAt.get(version) ?? t0) - t0);
    const pub = publishedAt.get(version) ?? t1;
    const call = source.publishCalls?.findLast((t) => t <= pub) ?? pub;
    const applied = lastApply.get(version) ?? t1;
    traces.push({
      n, total: t1 - t0, translated: call - t0, published: pub - call, applied: applied - pub, acked: t1 - applied,
      controllerLoopMax: controllerLoop.max / 1e6,
      gcMs: gcPauses.filter((g) => g.start >= t0 && g.start <= t1).reduce((sum, g) => sum + g.ms, 0),
      proxyLoopMax: proxyLoopMax.get(version) ?? 0,
    });
  }
  if (slowest > 0) {
    const f = (v: number): string => v.toFixed(1).padStart(7);
    const rows = traces.toSorted((a, b) => b.total - a.total).slice(0, slowest)
      .map((t) => `  #${String(t.n).padEnd(4)} ${f(t.total)} ${f(t.translated)} ${f(t.published)} ${f(t.applied)} ${f(t.acked)} ${f(t.controllerLoopMax)} ${f(t.gcMs)} ${f(t.proxyLoopMax)}`);
    const q = (pick: (t: Trace) => number, p: number): string => f(quantile(traces.map(pick).toSorted((a, b) => a - b), p));
    process.stderr.write(`slowest changes at ${services} services (ms):\n` +
      `  ${'change'.padEnd(5)} ${'total'.padStart(7)} ${'->transl'.padStart(7)} ${'->pub'.padStart(7)} ${'->apply'.padStart(7)} ${'->ack'.padStart(7)} ${'ctl-loop'.padStart(7)} ${'ctl-gc'.padStart(7)} ${'prx-loop'.padStart(7)}\n` +
      `${rows.join('\n')}\n` +
      `  p50   ${q((t) => t.total, 0.5)} ${q((t) => t.translated, 0.5)} ${q((t) => t.published, 0.5)} ${q((t) => t.applied, 0.5)} ${q((t) => t.acked, 0.5)} ${q((t) => t.controllerLoopMax, 0.5)} ${q((t) => t.gcMs, 0.5)} ${q((t) => t.proxyLoopMax, 0.5)}\n`);
  }
  const s = (xs: number[]): number[] => xs.toSorted((a, b) => a - b);
  const [tt, fp, la, tp, pb] = [s(total), s(fromPublish), s(toLastApply), s(toPublish), s(perProxyBytes)];
  const ms = (v: number): string => v.toFixed(1).padStart(8);
  return `${String(services).padStart(8)} ${formatBytes(bytes).padStart(9)} ${String(tt.length).padStart(7)} ${ms(quantile(tt, 0.5))} ${ms(quantile(tt, 0.99))} ${ms(tt.at(-1) ?? Number.NaN)} ${ms(quantile(tp, 0.5))} ${ms(quantile(la, 0.5))} ${ms(quantile(fp, 0.5))} ${ms(quantile(fp, 0.99))} ${formatBytes(quantile(pb, 0.5)).padStart(9)} ${formatBytes(pb.at(-1) ?? Number.NaN).padStart(9)}`;
}

const clients = await startClients();
const source = args.source === 'api' ? await apiServerSource(publisher, { pods: args.pods, endpoints: Number(args.endpoints) }) : publisherSource(publisher);
try {
  process.stdout.write(
    `convergence: change -> every proxy acked; ${clientCount} clients with ${engineKind === 'real' ? 'real engines' : 'no-op engines'} (${args['same-loop'] ? 'same event loop as the controller' : 'one worker thread each'}), ` +
    `coalesce ${publisher.coalesceMs} ms / max ${publisher.maxDelayMs} ms, source: ${source.name}, node ${process.version}, ${cpus().length} cpus\n` +
    `${'services'.padStart(8)} ${'snapshot'.padStart(9)} ${'changes'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'->pub50'.padStart(8)} ${'apply50'.padStart(8)} ${'pub->p50'.padStart(8)} ${'pub->p99'.padStart(8)} ${'B/prx50'.padStart(9)} ${'B/prxmax'.padStart(9)}\n`,
  );
  for (const services of sizes) process.stdout.write(`${await measure(source, services)}\n`);
  process.stdout.write('p50/p99/max: change -> every ack; ->pub50: change -> publish (p50; with --source api: watch, translation and coalescing);\n' +
    `apply50: change -> last ${engineKind} apply (p50); pub->: from the coalesced publish to every ack (without the coalescing wait);\n` +
    'B/prx: bytes written to each proxy\'s watch stream per change (median, max); snapshot: the full table, sent only at connect\n');
} finally {
  await source.close();
  await Promise.all(clients.map((c) => c.stop()));
  publisher.close();
  await server.close();
  controllerLoop.disable();
  gcObserver.disconnect();
}
