/**
 * `node bench/metrics-scrape.ts [services] [active]`: size and time of a proxy's /metrics with
 * many Services, `active` of which carried traffic (default 10,000 and 100), in this process.
 * Two shapes: one engine's registry as text, and the worker-pool path (two workers' registries
 * as JSON, aggregated by the main thread, then text), each the median of 5 scrapes.
 * Issue 14's target at 10,000 Services: under 2 MB and under 100 ms.
 */
import { AggregatorRegistry } from 'prom-client';
import { methodIndex, ProxyMetrics } from '../src/proxy/metrics.ts';

const services = Number(process.argv[2] ?? 10_000);
const active = Number(process.argv[3] ?? 100);

function proxyWith(n: number): ProxyMetrics {
  const m = new ProxyMetrics();
  const plans = [];
  for (let i = 0; i < n; i++) {
    const id = `ns${i % 50}/svc-${i}:80`;
    const stats = m.route({ id, namespace: `ns${i % 50}`, service: `svc-${i}`, port: 80, protocol: 'http' });
    plans.push({ id, stats, backends: [stats.backend(`svc-${i}`)] });
  }
  m.commit(plans);
  for (let i = 0; i < Math.min(active, n); i++) {
    const b = plans[i]!.backends[0]!;
    b.record(methodIndex('GET'), 200, 0.002);
    b.record(methodIndex('POST'), 503, 0.02);
  }
  return m;
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const one = proxyWith(services);
const workers = [proxyWith(services), proxyWith(services)];
const singleMs: number[] = [];
const poolMs: number[] = [];
let singleBytes = 0;
let poolBytes = 0;
for (let round = 0; round < 5; round++) {
  let t0 = performance.now();
  const text = await one.registry.metrics();
  singleMs.push(performance.now() - t0);
  singleBytes = Buffer.byteLength(text);
  t0 = performance.now();
  const json = await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()));
  // What crosses the thread boundary is a structured clone of this JSON.
  const aggregated = AggregatorRegistry.aggregate(json.map((j) => structuredClone(j)) as never);
  const pooled = await aggregated.metrics();
  poolMs.push(performance.now() - t0);
  poolBytes = Buffer.byteLength(pooled);
}
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
process.stdout.write(`${services} services, ${active} with traffic\n`);
process.stdout.write(`one engine:        ${mb(singleBytes)} in ${median(singleMs).toFixed(1)} ms (median of 5)\n`);
process.stdout.write(`two workers, aggregated: ${mb(poolBytes)} in ${median(poolMs).toFixed(1)} ms (median of 5)\n`);
