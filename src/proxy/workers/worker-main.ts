/**
 * A proxy worker thread: one ProxyEngine with SO_REUSEPORT listeners (the kernel spreads new
 * connections and UDP flows over the workers' sockets), rate-limit zones in the shared buffers
 * the supervisor sends, metrics returned as JSON for the supervisor to aggregate.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, HostmeshError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { ProxyEngine } from '../engine.ts';
import { OfferedZones } from '../ratelimit/zones.ts';
import type { ApplyReply, FromWorker, ToWorker, WorkerInit } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('worker-main.ts runs as a worker thread');
const init = workerData as WorkerInit;
const log = createLogger(init.logName, init.logLevel).child({ worker: init.id });
const zones = new OfferedZones(init.id);
const engine = new ProxyEngine({
  host: init.host,
  reusePort: true,
  limits: init.limits,
  log,
  processMetrics: false,
  affinitySecret: init.affinitySecret,
  accessLog: init.accessLog,
  tracing: init.tracing,
  rateLimits: zones,
});

function post(m: FromWorker): void {
  // A worker_threads port, not a browser window: there is no target origin.
  // oxlint-disable-next-line unicorn/require-post-message-target-origin
  port!.postMessage(m);
}

function reply(seq: number, work: Promise<unknown>): void {
  work.then(
    (value) => post({ type: 'reply', seq, ok: true, value }),
    (err: unknown) => post({ type: 'reply', seq, ok: false, error: errorMessage(err) }),
  );
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'apply':
      zones.offer(m.zones);
      reply(m.seq, engine.apply(m.table).then((result): ApplyReply => ({ result, routes: engine.routes() })));
      return;
    case 'delta':
      zones.offer(m.zones);
      reply(m.seq, engine.applyDelta(m.delta).then((result): ApplyReply => ({ result, routes: engine.routes() })));
      return;
    case 'metrics':
      reply(m.seq, engine.registry.getMetricsAsJSON());
      return;
    case 'live':
      reply(m.seq, engine.live(m.taps));
      return;
    case 'close':
      reply(m.seq, engine.close());
      return;
    case 'stall': {
      const until = Date.now() + m.ms;
      while (Date.now() < until) {
        // Busy: the event loop is blocked, as with a runaway request.
      }
      return;
    }
    case 'crash':
      setImmediate(() => {
        throw new HostmeshError('WORKER_TEST_CRASH', `worker ${init.id} crashed on request (test hook)`);
      });
      return;
  }
});
post({ type: 'ready' });
