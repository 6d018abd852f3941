/**
 * `node bench/hostile.ts [--duration S]`: the proxy under `ulimit -n 1024` while hostile clients
 * pipeline (connections of 1,500 pipelined GETs), churn connections (open/close at a bounded
 * rate) and rapid-reset h2c streams, and a normal client sends 50 requests per second on its own
 * keep-alive connections. Reports the normal client's success rate and latency percentiles, and
 * the same client alone first (a baseline in the same run), and the proxy's event-loop delay and
 * CPU use under attack (its own share of the latency, apart from the machine's): GC pauses and
 * time spent waiting for a CPU (run queue), for the proxy and for this process (the normal client
 * and the backend). `--profile DIR` writes a CPU profile of the proxy process there;
 * `--proxy-flags=...` passes node flags to it; `--priority N` runs the proxy and the normal
 * client at nice N (the attacker at 0); `--attacks pipeline,churn,reset` picks the attackers
 * (`none`: the normal client alone twice), each attack in a process of its own.
 *
 * Where the attacker runs: on a real node it is another pod or machine with its own CPU; here it
 * shares the 2 cores with the proxy and, unchecked, takes the proxy's CPU, so what is measured
 * is the machine's starvation more than the proxy's defence. `--isolate` runs the attacker
 * process pinned to the last CPU (`taskset`) at nice 10 (`--attacker-cpu N`, `--attacker-nice N`
 * set either alone); the proxy, the normal client and the backend are not pinned. The attack is
 * not throttled by the bench either way: the same closed loops (2 pipelining connections, 20
 * churning ones, one rapid-reset connection at a time), each as fast as the proxy answers, and
 * the attacker prints what it did per second so that runs can be compared. The default is the
 * unpinned run (all processes at nice 0, anywhere).
 *
 * The attacker connects from `--attacker-address` (127.0.0.2): another client than the normal
 * one, as another pod would be (the proxy's per-address defences, such as the h2c abuse
 * penalty, then tell them apart). `--proxy-script FILE` runs another copy of hostile-proxy.ts (e.g. one importing an older
 * src/, for an A/B in the same run). A benchmark, never run by npm test.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect as h2connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { availableParallelism, loadavg, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { describeGc, describeWait, gcPauses, schedstat } from './hostile-stats.ts';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '20' }, port: { type: 'string', default: '21100' }, role: { type: 'string', default: 'main' }, profile: { type: 'string' }, 'proxy-flags': { type: 'string', default: '' }, priority: { type: 'string', default: '0' }, attacks: { type: 'string', default: 'pipeline,churn,reset' }, isolate: { type: 'boolean', default: false }, 'attacker-cpu': { type: 'string' }, 'attacker-nice': { type: 'string' }, 'proxy-script': { type: 'string' }, 'attacker-address': { type: 'string', default: '127.0.0.2' } } });
/** The attacker's source address: another client than the normal one (127.0.0.1), as another pod would be. */
const FROM = args['attacker-address'];
const ATTACKS = new Set(args.attacks.split(','));
const DURATION_MS = Number(args.duration) * 1000;
const PORT = Number(args.port);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Normal { ok: number; failed: number; latencies: number[] }

/** 50 requests per second for `ms`, each timed; keep-alive connections of its own. */
async function normalClient(ms: number): Promise<Normal> {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 20 });
  const out: Normal = { ok: 0, failed: 0, latencies: [] };
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; performance.now() - start < ms; i++) {
    const due = start + i * 20;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t0 = performance.now();
    inflight.push(request(`http://127.0.0.1:${PORT}/normal`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
      .then(async (r) => {
        await r.body.text();
        if (r.statusCode === 200) out.ok++;
        else out.failed++;
        out.latencies.push(performance.now() - t0);
      })
      .catch(() => { out.failed++; }));
  }
  await Promise.all(inflight);
  await agent.close();
  return out;
}

function pct(xs: number[], p: number): number {
  const s = xs.toSorted((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function report(name: string, r: Normal): void {
  const total = r.ok + r.failed;
  console.log(`${name}: ${total} requests, success ${(100 * r.ok / total).toFixed(2)}%, p50 ${pct(r.latencies, 50).toFixed(1)} ms, p99 ${pct(r.latencies, 99).toFixed(1)} ms, max ${pct(r.latencies, 100).toFixed(1)} ms`);
}

const run = { stop: false };
const counters = { pipelined: 0, answered: 0, churned: 0, resets: 0, goaways: 0 };

/** Responses in a chunk of a pipelining connection's bytes (each starts with the status line). */
function countResponses(chunk: string): void {
  for (let at = chunk.indexOf('HTTP/1.1 '); at >= 0; at = chunk.indexOf('HTTP/1.1 ', at + 9)) counters.answered++;
}

async function pipeliner(): Promise<void> {
  const batch = 'GET /p HTTP/1.1\r\nHost: bench\r\n\r\n'.repeat(1500);
  while (!run.stop) {
    await new Promise<void>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: PORT, localAddress: FROM });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setEncoding('latin1');
      s.on('data', countResponses);
      s.once('connect', () => s.write(batch));
      setTimeout(() => s.destroy(), 2000);
    });
    counters.pipelined++;
  }
}

async function churner(): Promise<void> {
  while (!run.stop) {
    await new Promise<void>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: PORT, localAddress: FROM });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
      s.once('connect', () => {
        s.write(counters.churned % 2 === 0 ? 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' : 'GET /c HTTP/1.1\r\nHost: bench\r\n');
        s.end();
      });
    });
    counters.churned++;
  }
}

async function rapidReset(): Promise<void> {
  while (!run.stop) {
    await new Promise<void>((resolve) => {
      const c = h2connect(`http://127.0.0.1:${PORT}`, { createConnection: () => netConnect({ host: '127.0.0.1', port: PORT, localAddress: FROM }) });
      c.on('error', () => {});
      c.on('goaway', () => { counters.goaways++; });
      c.on('close', () => resolve());
      c.once('connect', async () => {
        for (let i = 0; i < 5000 && !c.destroyed && !c.closed && !run.stop; i++) {
          const s = c.request({ ':path': '/r' });
          s.on('error', () => {});
          s.close(constants.NGHTTP2_CANCEL);
          counters.resets++;
          if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
        }
        c.destroy();
      });
    });
  }
}

if (args.role === 'hostile') {
  // The hostile clients, in a process of their own so they do not starve the normal client.
  const started = performance.now();
  // Alive until told to stop, attackers or none.
  const alive = setInterval(() => {}, 1000);
  process.on('SIGTERM', () => {
    run.stop = true;
    clearInterval(alive);
    const s = (performance.now() - started) / 1000;
    const rate = (n: number): string => (n / s).toFixed(0);
    const did: string[] = [];
    if (ATTACKS.has('pipeline')) did.push(`pipeline: ${counters.pipelined} connections of 1,500 GETs, ${counters.answered} answered (${rate(counters.answered)}/s)`);
    if (ATTACKS.has('churn')) did.push(`churn: ${counters.churned} connections (${rate(counters.churned)}/s)`);
    if (ATTACKS.has('reset')) did.push(`reset: ${counters.resets} streams opened and cancelled (${rate(counters.resets)}/s), ${counters.goaways} GOAWAYs (${rate(counters.goaways)}/s)`);
    console.log(`hostile (${s.toFixed(0)} s) ${did.join('; ')}`);
    setTimeout(() => process.exit(0), 200);
  });
  await Promise.all([
    ...(ATTACKS.has('pipeline') ? [pipeliner(), pipeliner()] : []),
    ...(ATTACKS.has('churn') ? Array.from({ length: 20 }, churner) : []),
    ...(ATTACKS.has('reset') ? [rapidReset()] : []),
  ]);
} else {
  const backend = createServer((_req, res) => res.end('ok'));
  backend.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as { port: number }).port;

  const proxyScript = args['proxy-script'] ?? fileURLToPath(new URL('hostile-proxy.ts', import.meta.url));
  // --profile DIR: a V8 CPU profile of the proxy process, written there when it exits.
  const prof = args.profile === undefined ? '' : `--cpu-prof --cpu-prof-dir="${args.profile}" `;
  // --proxy-flags '...': more node flags for the proxy process (e.g. --trace-gc, --max-semi-space-size=N).
  const flags = args['proxy-flags'] === '' ? '' : `${args['proxy-flags']} `;
  const child = spawn('bash', ['-c', `ulimit -n 1024 && exec "${process.execPath}" ${prof}${flags}"${proxyScript}" --port ${PORT} --backend ${backendPort}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
  console.log(`proxy: ${ready} (fd limit, client connection budget)`);
  // --priority N (a nice value; below 0 needs root): the proxy and this process (the normal
  // client and the backend) run at that priority, the attacker at the default. An experiment:
  // what the normal client sees when the machine's other load cannot starve the mesh's side.
  const priority = Number(args.priority);
  if (priority !== 0) {
    setPriority(child.pid!, priority);
    setPriority(priority);
  }


  const baseline = await normalClient(Math.min(DURATION_MS, 10_000));
  report('normal client alone', baseline);
  // The proxy's event-loop delay from here on: under attack only.
  child.kill('SIGUSR2');
  // The attacker's CPU and priority: set at its start (nice and taskset exec it), so every
  // thread of it has them.
  const cpus = availableParallelism();
  const attackerCpu = args['attacker-cpu'] ?? (args.isolate ? String(cpus - 1) : undefined);
  const attackerNice = Number(args['attacker-nice'] ?? (args.isolate ? '10' : '0'));
  const wrap = [
    ...(attackerNice !== 0 ? ['nice', '-n', String(attackerNice)] : []),
    ...(attackerCpu !== undefined ? ['taskset', '-c', attackerCpu] : []),
  ];
  console.log(attackerCpu === undefined && attackerNice === 0
    ? 'attacker: unpinned, nice 0 (shares every CPU with the proxy)'
    : `attacker: ${attackerCpu === undefined ? 'unpinned' : `pinned to CPU ${attackerCpu} of ${cpus}`}, nice ${attackerNice} (standing in for a client with its own CPU; the proxy, normal client and backend are not pinned)`);
  console.log(`attacker: connects from ${FROM} (the normal client from 127.0.0.1)`);
  // One process per attack: an attacker whose loop gets faster (a refused h2c connection is
  // quicker to redo than a session) does not slow the others down by sharing their event loop.
  const attackers = [...ATTACKS].filter((a) => a !== 'none').map((attack) => {
    const hostileArgs = [fileURLToPath(import.meta.url), '--role', 'hostile', '--port', String(PORT), '--attacks', attack, '--attacker-address', FROM];
    const attacker = wrap.length === 0
      ? spawn(process.execPath, hostileArgs, { stdio: 'inherit' })
      : spawn(wrap[0]!, [...wrap.slice(1), process.execPath, ...hostileArgs], { stdio: 'inherit' });
    if (priority !== 0 && attackerNice === 0) setPriority(attacker.pid!, 0);
    return { attacker, exit: new Promise((resolve) => attacker.once('exit', resolve)) };
  });
  await sleep(1000);
  // This process (the normal client and the backend) is measured as the proxy is: its own
  // stalls count in the normal client's latency too.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const gc = gcPauses();
  const sched0 = schedstat();
  const t0 = performance.now();
  const load0 = loadavg()[0]!;
  const loaded = await normalClient(DURATION_MS);
  const wall = performance.now() - t0;
  const sched = schedstat();
  loop.disable();
  for (const a of attackers) a.attacker.kill('SIGTERM');
  await Promise.all(attackers.map((a) => a.exit));
  report('normal client under hostile load', loaded);
  const ms = (n: number): string => Math.max(0, n / 1e6 - 5).toFixed(1);
  console.log(`client+backend process: event-loop delay p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms; ${describeGc(gc, wall)}; ${describeWait(sched0, sched, wall)}`);
  console.log(`machine: load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  backend.closeAllConnections();
  backend.close();
  process.exit(0);
}
