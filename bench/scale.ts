/**
 * `node bench/scale.ts [services] [endpoints per service]`: memory and apply time of one proxy
 * engine serving many Services (each with one port, its endpoints (default 2) and its own
 * listener), in this process; then a one-endpoint change as a full re-apply and as a delta.
 * DESIGN.md's targets: idle RSS under 60 MB; under 150 MB with 10,000 services.
 */
import { createServer } from 'node:net';
import { createLogger } from '../src/common/log.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { ResourceTracker, TABLE_FORMAT } from '../src/table/index.ts';
import type { RoutingTable } from '../src/table/index.ts';

const services = Number(process.argv[2] ?? 10_000);
const perService = Number(process.argv[3] ?? 2);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** A block of consecutive free ports above `from` (checked by binding each once). */
async function freePorts(n: number, from: number): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; out.length < n && p < 65535; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) out.push(p);
  }
  if (out.length < n) throw new Error(`only ${out.length} free ports`);
  return out;
}

function tableFor(ports: number[], version: number): RoutingTable {
  const t: RoutingTable = {
    format: TABLE_FORMAT, epoch: 'scale', version, generatedAt: new Date().toISOString(),
    dns: { zones: ['hostmesh'], ttl: 5, services: [] }, listeners: [], routes: [], clusters: [],
  };
  ports.forEach((port, i) => {
    const id = `ns${i % 50}/svc-${i}:80`;
    t.clusters.push({
      id, namespace: `ns${i % 50}`, service: `svc-${i}`, port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
      loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
      endpoints: Array.from({ length: perService }, (_, e) => ({ address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`, port: 8080 })),
    });
    t.routes.push({ id, namespace: `ns${i % 50}`, service: `svc-${i}`, port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }] });
    t.listeners.push({ port, protocol: 'http', route: id });
  });
  return t;
}

gc?.();
const idle = new ProxyEngine({ log: createLogger('scale', 'warn') });
gc?.();
process.stdout.write(`engine created, no table: RSS ${mb(process.memoryUsage().rss)}\n`);
// Above every engineer's port block and the suites' helpers.
const ports = await freePorts(services, 40000);
let t0 = performance.now();
let r = await idle.apply(tableFor(ports, 1));
if (!r.ok) throw new Error(r.error.message);
process.stdout.write(`${services} services, ${services * perService} endpoints applied in ${(performance.now() - t0).toFixed(0)} ms\n`);
gc?.();
process.stdout.write(`RSS with ${services} services: ${mb(process.memoryUsage().rss)} (heap ${mb(process.memoryUsage().heapUsed)})\n`);
// A one-endpoint change everywhere: the common case of a re-apply.
const next = tableFor(ports, 2);
next.clusters[0]!.endpoints.push({ address: '10.255.255.9', port: 8080 });
t0 = performance.now();
r = await idle.apply(next);
if (!r.ok) throw new Error(r.error.message);
process.stdout.write(`re-apply with one endpoint changed: ${(performance.now() - t0).toFixed(0)} ms\n`);
// The same kind of change as a delta (what the controller sends now).
const tracker = new ResourceTracker();
tracker.update(next);
const third = { ...next, version: 3, clusters: next.clusters.slice() };
third.clusters[1] = { ...third.clusters[1]!, endpoints: [...third.clusters[1]!.endpoints, { address: '10.255.255.10', port: 8080 }] };
const { changes, digest } = tracker.update(third);
const delta = JSON.parse(JSON.stringify({ format: TABLE_FORMAT, epoch: 'scale', base: 2, version: 3, generatedAt: new Date().toISOString(), digest, changes })) as unknown;
t0 = performance.now();
r = await idle.applyDelta(delta);
if (!r.ok) throw new Error(r.error.message);
process.stdout.write(`delta with one endpoint changed (${JSON.stringify(delta).length} bytes): ${(performance.now() - t0).toFixed(1)} ms\n`);
gc?.();
process.stdout.write(`RSS after the changes: ${mb(process.memoryUsage().rss)} (heap ${mb(process.memoryUsage().heapUsed)})\n`);
const scrape = performance.now();
const text = await idle.registry.metrics();
process.stdout.write(`/metrics: ${(text.length / 1024 / 1024).toFixed(1)} MB of text in ${(performance.now() - scrape).toFixed(0)} ms\n`);
await idle.close();
