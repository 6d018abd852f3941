/**
 * Applying a DNS plan (plan.ts) to the cluster: ConfigMap creates and updates (each update
 * carries the resourceVersion it was planned from), then the rollout annotation on the DNS
 * Deployment when the plan asks for one. A write that conflicts means someone changed the
 * ConfigMap after it was observed: observe again (fresh lists) and plan again.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { failedWith, kubeCall } from '../kube/errors.js';
/** Where cluster DNS runs, and how its Deployment is labelled on every distribution. */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_DEPLOYMENT_SELECTOR = 'k8s-app=kube-dns';
/** Among the Deployments labelled k8s-app=kube-dns: `coredns` when present, else the first by name. */
export function pickDnsDeployment(deployments) {
    const sorted = deployments.toSorted((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
    return sorted.find((d) => d.metadata.name === 'coredns') ?? sorted[0];
}
function plainJson(value) {
    return JSON.parse(JSON.stringify(value));
}
/** Reads the DNS Deployment and the ConfigMaps of the DNS namespace now (quorum lists). */
export async function observeDns(apis, namespace = DNS_NAMESPACE) {
    const [deployments, configMaps] = await Promise.all([
        kubeCall({ verb: 'list', kind: 'Deployment', namespace }, () => apis.apps.listNamespacedDeployment({ namespace, labelSelector: DNS_DEPLOYMENT_SELECTOR })),
        kubeCall({ verb: 'list', kind: 'ConfigMap', namespace }, () => apis.core.listNamespacedConfigMap({ namespace })),
    ]);
    const deployment = pickDnsDeployment(plainJson(deployments.items));
    return { ...(deployment ? { deployment } : {}), configMaps: plainJson(configMaps.items) };
}
/** Writes the plan's ConfigMaps, then asks for the rollout. Nothing is written for an empty plan. */
export async function applyDnsPlan(apis, plan, observed) {
    const applied = { writes: [] };
    for (const w of plan.writes) {
        const { namespace, name } = w;
        const target = { verb: w.action, kind: 'ConfigMap', namespace, name };
        if (w.action === 'create') {
            const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: w.data };
            await kubeCall(target, () => apis.core.createNamespacedConfigMap({ namespace, body }));
        }
        else {
            // The whole object goes back (labels, annotations, binaryData kept), at the observed version.
            const existing = observed.configMaps.find((cm) => cm.metadata.name === name && (cm.metadata.namespace ?? namespace) === namespace);
            const body = {
                ...plainJson(existing ?? { metadata: { name, namespace } }),
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
        await kubeCall({ verb: 'patch', kind: 'Deployment', namespace: restart.namespace, name: restart.name }, () => apis.apps.patchNamespacedDeployment({ namespace: restart.namespace, name: restart.name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
        applied.restarted = `Deployment ${restart.namespace}/${restart.name}`;
    }
    return applied;
}
/**
 * Plans from `observed` and applies the plan. When a write conflicts (409: changed or created
 * since it was observed), observes again with fresh lists and plans again, up to `attempts`
 * times; planning errors (HostmeshError DNS_*) and other API failures are thrown.
 */
export async function planAndApply(apis, observed, makePlan, options = {}) {
    const attempts = options.attempts ?? 3;
    let current = observed;
    for (let attempt = 1;; attempt++) {
        const plan = makePlan(current);
        try {
            return { plan, applied: await applyDnsPlan(apis, plan, current) };
        }
        catch (e) {
            if (!failedWith(e, 409) || attempt >= attempts)
                throw e;
            current = await observeDns(apis, options.namespace);
        }
    }
}
