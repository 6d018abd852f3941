/**
 * `node bench/tracing-micro.ts`: CPU per request of the proxy's tracing work alone, on the
 * proxy's thread: the sampling decision, the span, the batch's JSON encoding and its POST to a
 * collector in another process (which answers at once). Off, 1% and 100% sampling, 200 rounds of
 * 1000 requests each after a warm-up; each round ends with a flush, so export cost is counted.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import type { Exchange } from '../src/proxy/http/exchange.ts';
import { startTracing } from '../src/proxy/tracing/index.ts';

const ROUNDS = 200;
const N = 1000;
const sink = fork(fileURLToPath(new URL('./otlp-sink.ts', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const [{ port }] = (await once(sink, 'message')) as [{ port: number }];
const traceparents = Array.from({ length: 4 * N }, () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`);

/** What the trace stage and `Exchange.finish` read of an exchange, as a plain object. */
function exchange(traceparent: string, i: number): Exchange {
  return {
    req: { rawHeaders: ['host', 'bench', 'traceparent', traceparent], url: `/p${i}`, socket: { remoteAddress: '127.0.0.1' } },
    start: performance.now(), method: 'GET', route: { id: 'bench/server:80' }, attempts: 1, client: '127.0.0.1',
    status: 200, backend: { cluster: { id: 'bench/server:80' } }, endpoint: { key: '127.0.0.1:8080' },
    span: undefined, ownTraceparent: undefined,
  } as unknown as Exchange;
}

async function measure(ratio: number | undefined): Promise<number> {
  const tracing = ratio === undefined ? undefined : startTracing({ collector: `http://127.0.0.1:${port}`, sampling: ratio }, new Registry(), () => {});
  const round = async (r: number): Promise<void> => {
    for (let i = 0; i < N; i++) {
      const ex = exchange(traceparents[(r * N + i) % traceparents.length]!, i);
      tracing?.tracer.start(ex);
      ex.span?.end(ex, performance.now());
    }
    await tracing?.exporter.flush();
  };
  for (let r = 0; r < 20; r++) await round(r);
  const c0 = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) await round(r);
  const c = process.cpuUsage(c0);
  await tracing?.exporter.close();
  return (c.user + c.system) / (ROUNDS * N);
}

const off = await measure(undefined);
process.stdout.write(`tracing off:  ${off.toFixed(2)} µs CPU per request (building the test exchange only)\n`);
for (const ratio of [0.01, 1]) {
  const us = await measure(ratio);
  process.stdout.write(`tracing ${String(ratio * 100).padStart(3)}%: ${us.toFixed(2)} µs CPU per request, ${(us - off).toFixed(2)} µs more than off\n`);
}
sink.disconnect();
