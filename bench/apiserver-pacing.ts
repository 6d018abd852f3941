/**
 * `npm run bench:apiserver-pacing [-- flags]`: what a real kube-apiserver (the cluster tier's,
 * built from its Go module, etcd alongside) makes of shadow Service writes at a given pacing,
 * with API Priority and Fairness on in its default configuration, as a real cluster runs it.
 *
 * The writer is a ServiceAccount, as the controller is (FlowSchema `service-accounts`, priority
 * level `workload-low`); it creates `--services` shadow-like Services (a selector, an allocated
 * ClusterIP, `internalTrafficPolicy: Local`) per round, with the controller's own pacer and
 * concurrency bound (src/controller/shadow/pacing.ts), at each `--rates` (0: not paced) with
 * `--in-flight` writes at most. Meanwhile another ServiceAccount reads one object every 100 ms,
 * as any other client of the same priority level would. Reported per round: the rate reached,
 * the writes' latency (p50/p99), refusals (429 and others), the requests APF rejected or queued
 * in `workload-low` (from the apiserver's /metrics), and the other client's read latency.
 *
 *   --services N    Services per round (default 1000)
 *   --rates A,B     writes started per second, one round each, in this order then reversed (default 100,200,400,0)
 *   --in-flight N   writes in flight at most (default 8)
 *
 * Needs Go (the cluster tier's build); prints one SKIPPED line without it. No ports of its own:
 * etcd and the apiserver take free loopback ports.
 */
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Service } from '@kubernetes/client-node';
import { forEachLimit } from '../src/controller/kube/loop.ts';
import { pacer } from '../src/controller/shadow/pacing.ts';
import { clusterBinaries } from '../test/cluster/build.ts';
import { Cluster } from '../test/cluster/cluster.ts';

const { values: args } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '100,200,400,0' },
    'in-flight': { type: 'string', default: '8' },
  },
});
const SERVICES = Number(args.services);
const RATES = args.rates.split(',').map(Number);
const IN_FLIGHT = Number(args['in-flight']);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const bins = await clusterBinaries((l) => console.error(`cluster build: ${l}`));
if (typeof bins === 'string') {
  out(`bench:apiserver-pacing SKIPPED: ${bins}`);
  process.exit(0);
}
const cluster = await Cluster.start(bins, { priorityAndFairness: true });
process.on('exit', () => void cluster.stop());
try {
  const role = { apiGroups: [''], resources: ['services', 'namespaces'], verbs: ['create', 'get', 'list'] };
  await cluster.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hostmesh' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'writer', namespace: 'hostmesh' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: 'hostmesh' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'pacing-bench' }, rules: [role] },
    ...['writer', 'reader'].map((sa) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `pacing-bench-${sa}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pacing-bench' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'hostmesh' }],
    })),
  ]);
  const client = async (sa: string): Promise<CoreV1Api> => {
    const kc = new KubeConfig();
    kc.loadFromFile(await cluster.serviceAccountKubeconfig('hostmesh', sa));
    return kc.makeApiClient(CoreV1Api);
  };
  const [writer, reader] = await Promise.all([client('writer'), client('reader')]);

  /** workload-low's rejected requests, and requests that waited in its queues (count, seconds). */
  const apf = async (): Promise<{ rejected: number; queued: number; waitSeconds: number }> => {
    const text = await cluster.kubectlOk(['get', '--raw', '/metrics']);
    let rejected = 0;
    let queued = 0;
    let waitSeconds = 0;
    for (const line of text.split('\n')) {
      if (!line.includes('priority_level="workload-low"')) continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('apiserver_flowcontrol_rejected_requests_total')) rejected += value;
      else if (line.startsWith('apiserver_flowcontrol_request_wait_duration_seconds_count') && line.includes('execute="true"')) queued += value;
      else if (line.startsWith('apiserver_flowcontrol_request_wait_duration_seconds_sum') && line.includes('execute="true"')) waitSeconds += value;
    }
    return { rejected, queued, waitSeconds };
  };

  out(`bench:apiserver-pacing: ${SERVICES} Services per round, ${IN_FLIGHT} in flight, kube-apiserver with API Priority and Fairness (defaults), writer and reader are ServiceAccounts (workload-low)`);
  out('  rate asked   reached   write p50 / p99      refused   APF rejected   APF mean wait   other client read p50 / p99');
  const order = [...RATES, ...RATES.toReversed()];
  for (const [round, rate] of order.entries()) {
    const namespace = `round-${round}`;
    await cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
    const latencies: number[] = [];
    const refused = new Map<string, number>();
    const reads: number[] = [];
    const writing = new AbortController();
    const probe = (async () => {
      while (!writing.signal.aborted) {
        const t = performance.now();
        await reader.readNamespace({ name: 'hostmesh' }).then(() => reads.push(performance.now() - t), () => {});
        await sleep(100);
      }
    })();
    const before = await apf();
    const pace = pacer(rate);
    const started = performance.now();
    await forEachLimit(Array.from({ length: SERVICES }, (_, i) => i), IN_FLIGHT, async (i) => {
      await pace();
      const body: V1Service = {
        metadata: { name: `shadow-${i}`, namespace, labels: { 'app.kubernetes.io/managed-by': 'hostmesh' } },
        spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/component': 'proxy' }, internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 10000 + (i % 20000) }] },
      };
      const t = performance.now();
      try {
        await writer.createNamespacedService({ namespace, body });
        latencies.push(performance.now() - t);
      } catch (e) {
        const code = String((e as { code?: number }).code ?? 'error');
        refused.set(code, (refused.get(code) ?? 0) + 1);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    writing.abort();
    await probe;
    const after = await apf();
    const queued = after.queued - before.queued;
    const meanWait = queued > 0 ? ((after.waitSeconds - before.waitSeconds) / queued) * 1000 : 0;
    const refusals = [...refused].map(([code, n]) => `${n}x${code}`).join(' ') || '0';
    out(`  ${(rate === 0 ? 'unpaced' : `${rate}/s`).padStart(10)} ${`${(SERVICES / seconds).toFixed(0)}/s`.padStart(9)} ${`${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} ms`.padStart(19)} ${refusals.padStart(9)} ${String(after.rejected - before.rejected).padStart(14)} ${`${meanWait.toFixed(2)} ms`.padStart(15)} ${`${quantile(reads, 0.5).toFixed(1)} / ${quantile(reads, 0.99).toFixed(1)} ms`.padStart(29)}`);
  }
} finally {
  await cluster.stop();
}
