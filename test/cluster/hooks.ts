/**
 * helm with the chart's hook Jobs run for real. helm waits for each hook Job to complete; with no
 * Job controller or kubelet in the tier, this plays their part and only that: each hook Job that
 * appears is run once, as `hostmesh <its container's args>` with a TokenRequest token of the
 * Job's own ServiceAccount (so the hook's RBAC is what the apiserver enforces), and its status is
 * then written the way the Job controller writes it (Complete, or Failed with the command's
 * output, which helm reports).
 */
import { fileURLToPath } from 'node:url';
import type { Cluster, Run } from './cluster.ts';
import { run } from './cluster.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface HookJob {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } } };
  status?: { conditions?: { type: string; status: string }[] };
}

export interface HookRun { job: string; hook: string; args: string[]; result: Run }

/** `hostmesh ARGS` run to its end with this test's Node. */
export function runHostmesh(args: readonly string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  return run(process.execPath, [MAIN, ...args], { env });
}

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

async function finishJob(cluster: Cluster, job: HookJob, ok: boolean, message: string): Promise<void> {
  const now = stamp();
  const condition = (type: string): object => ({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, ...(ok ? {} : { reason: 'BackoffLimitExceeded', message }) });
  const status = ok
    ? { startTime: now, completionTime: now, succeeded: 1, conditions: [condition('SuccessCriteriaMet'), condition('Complete')] }
    : { startTime: now, failed: 1, conditions: [condition('FailureTarget'), condition('Failed')] };
  await cluster.kubectlOk(['patch', 'job', job.metadata.name, '-n', job.metadata.namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

/**
 * Runs `helm ARGS` while running every hook Job of `namespace` it creates. `beforeHook` runs
 * first for each (e.g. stopping the controller once uninstall deleted its Deployment).
 */
export async function helmWithHooks(cluster: Cluster, namespace: string, args: readonly string[], beforeHook?: (job: HookJob) => Promise<void>): Promise<{ helm: Run; hooks: HookRun[] }> {
  const state = { done: false };
  const helm = cluster.helm(args).finally(() => { state.done = true; });
  const seen = new Set<string>();
  const hooks: HookRun[] = [];
  while (!state.done) {
    const list = await cluster.kubectl(['get', 'jobs', '-n', namespace, '-o', 'json']);
    const jobs = list.status === 0 ? (JSON.parse(list.stdout) as { items: HookJob[] }).items : [];
    for (const job of jobs) {
      const hook = job.metadata.annotations?.['helm.sh/hook'];
      if (hook === undefined || seen.has(job.metadata.uid) || (job.status?.conditions ?? []).length > 0) continue;
      seen.add(job.metadata.uid);
      await beforeHook?.(job);
      const pod = job.spec.template.spec;
      const kubeconfig = await cluster.serviceAccountKubeconfig(namespace, pod.serviceAccountName);
      const hookArgs = pod.containers[0]!.args;
      const result = await runHostmesh([...hookArgs, `--kubeconfig=${kubeconfig}`]);
      hooks.push({ job: job.metadata.name, hook, args: hookArgs, result });
      await finishJob(cluster, job, result.status === 0, `hostmesh ${hookArgs.join(' ')} exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { helm: await helm, hooks };
}

/** A readable account of the hooks run, for failure messages. */
export function describeHooks(hooks: readonly HookRun[]): string {
  return hooks.map((h) => `hook ${h.job} (${h.hook}): hostmesh ${h.args.join(' ')} -> exit ${h.result.status}\n${h.result.stderr}${h.result.stdout}`).join('\n');
}
