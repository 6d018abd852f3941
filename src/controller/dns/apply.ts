/**
 * Applying a DNS plan (plan.ts) to the cluster: ConfigMap creates and updates (each update
 * carries the resourceVersion it was planned from), then the rollout annotation on the DNS
 * Deployment when the plan asks for one. A write that conflicts means someone changed the
 * ConfigMap after it was observed: observe again (fresh lists) and plan again.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { AppsV1Api, CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { failedWith, kubeCall } from '../kube/errors.ts';
import type { DnsObserved, DnsPlan } from './plan.ts';
import type { ConfigMapObject, DeploymentObject } from './types.ts';

export interface DnsApis {
  core: CoreV1Api;
  apps: AppsV1Api;
}

/** Where cluster DNS runs, and how its Deployment is labelled on every distribution. */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_DEPLOYMENT_SELECTOR = 'k8s-app=kube-dns';

export interface DnsApplied {
  /** What was written, e.g. `update ConfigMap kube-system/coredns`. */
  writes: string[];
  /** `Deployment kube-system/coredns` when a rollout restart was asked for. */
  restarted?: string;
}

/** Among the Deployments labelled k8s-app=kube-dns: `coredns` when present, else the first by name. */
export function pickDnsDeployment(deployments: readonly DeploymentObject[]): DeploymentObject | undefined {
  const sorted = deployments.toSorted((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  return sorted.find((d) => d.metadata.name === 'coredns') ?? sorted[0];
}

function plainJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Reads the DNS Deployment and the ConfigMaps of the DNS namespace now (quorum lists). */
export async function observeDns(apis: DnsApis, namespace = DNS_NAMESPACE): Promise<DnsObserved> {
  const [deployments, configMaps] = await Promise.all([
    kubeCall({ verb: 'list', kind: 'Deployment', namespace }, () => apis.apps.listNamespacedDeployment({ namespace, labelSelector: DNS_DEPLOYMENT_SELECTOR })),
    kubeCall({ verb: 'list', kind: 'ConfigMap', namespace }, () => apis.core.listNamespacedConfigMap({ namespace })),
  ]);
  const deployment = pickDnsDeployment(plainJson<DeploymentObject[]>(deployments.items));
  return { ...(deployment ? { deployment } : {}), configMaps: plainJson<ConfigMapObject[]>(configMaps.items) };
}

/** Writes the plan's ConfigMaps, then asks for the rollout. Nothing is written for an empty plan. */
export async function applyDnsPlan(apis: DnsApis, plan: DnsPlan, observed: DnsObserved): Promise<DnsApplied> {
  const applied: DnsApplied = { writes: [] };
  for (const w of plan.writes) {
    const { namespace, name } = w;
    const target = { verb: w.action, kind: 'ConfigMap', namespace, name } as const;
    if (w.action === 'create') {
      const body: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: w.data };
      await kubeCall(target, () => apis.core.createNamespacedConfigMap({ namespace, body }));
    } else {
      // The whole object goes back (labels, annotations, binaryData kept), at the observed version.
      const existing = observed.configMaps.find((cm) => cm.metadata.name === name && (cm.metadata.namespace ?? namespace) === namespace);
      const body = {
        ...plainJson<V1ConfigMap>(existing ?? { metadata: { name, namespace } }),
        data: w.data,
      };
      body.metadata = { ...body.metadata, resourceVersion: w.resourceVersion };
      await kubeCall(target, () => apis.core.replaceNamespacedConfigMap({ namespace, name, body }));
    }
    applied.writes.push(`${w.action} ConfigMap ${namespace}/${name}`);
  }
  const restart = plan.restart;
  if (restart) {
    const body = { spec: { template: { metadata: { annotations: restart.annotations } } } };
    await kubeCall({ verb: 'patch', kind: 'Deployment', namespace: restart.namespace, name: restart.name }, () => apis.apps.patchNamespacedDeployment(
      { namespace: restart.namespace, name: restart.name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    applied.restarted = `Deployment ${restart.namespace}/${restart.name}`;
  }
  return applied;
}

/**
 * Plans from `observed` and applies the plan. When a write conflicts (409: changed or created
 * since it was observed), observes again with fresh lists and plans again, up to `attempts`
 * times; planning errors (HostmeshError DNS_*) and other API failures are thrown.
 */
export async function planAndApply(
  apis: DnsApis,
  observed: DnsObserved,
  makePlan: (observed: DnsObserved) => DnsPlan,
  options: { namespace?: string; attempts?: number } = {},
): Promise<{ plan: DnsPlan; applied: DnsApplied }> {
  const attempts = options.attempts ?? 3;
  let current = observed;
  for (let attempt = 1; ; attempt++) {
    const plan = makePlan(current);
    try {
      return { plan, applied: await applyDnsPlan(apis, plan, current) };
    } catch (e) {
      if (!failedWith(e, 409) || attempt >= attempts) throw e;
      current = await observeDns(apis, options.namespace);
    }
  }
}
