/**
 * `hostmesh cleanup` (the chart's pre-delete hook): removes what the controller added to the
 * cluster. The DNS patch goes (the Corefile's marker region, the `hostmesh.server` key of
 * `coredns-custom`, the mesh zones of kube-dns's stubDomains; found by those marks, so the DNS
 * Service is not needed for it), then every shadow Service in the mesh namespace (label
 * `app.kubernetes.io/managed-by: hostmesh` and the `hostmesh.io/shadow-of` annotation; other
 * Services there are left alone). Idempotent: a second run finds nothing to do.
 *
 * Transient API failures are retried a few times; what still fails is in the report's
 * `errors`, after the other step has run anyway.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { errorMessage, isHostmeshError } from '../common/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './constants.js';
import { DNS_NAMESPACE, observeDns, planAndApply } from './dns/apply.js';
import { planDnsCleanup } from './dns/plan.js';
import { failedWith, kubeCall, requestFailure } from './kube/errors.js';
import { backoffDelay } from './kube/loop.js';
import { isShadowService } from './shadow/services.js';
async function withRetries(attempts, backoff, log, step) {
    for (let attempt = 1;; attempt++) {
        try {
            return await step();
        }
        catch (e) {
            // Outages and overload pass; a 403 or 404 will not change by retrying.
            const status = requestFailure(e)?.status;
            const transient = requestFailure(e) !== undefined && (status === undefined || status === 429 || status >= 500);
            if (!transient || attempt >= attempts)
                throw e;
            const delay = backoffDelay(backoff, attempt - 1);
            log.warn({ attempt, retryInMs: delay }, errorMessage(e));
            await new Promise((resolve) => setTimeout(resolve, delay));
        }
    }
}
export async function cleanup(options) {
    const { log, meshNamespace } = options;
    const attempts = options.attempts ?? 3;
    const backoff = options.backoff ?? { minMs: 500, maxMs: 5000 };
    const kc = options.kubeConfig;
    const apis = { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
    const report = { dns: { strategy: undefined, writes: [], notes: [] }, deletedShadows: [], errors: [] };
    try {
        const { plan, applied } = await withRetries(attempts, backoff, log, async () => planAndApply(apis, await observeDns(apis), (o) => planDnsCleanup(o, options.zones), { namespace: DNS_NAMESPACE }));
        report.dns = { strategy: plan.strategy, writes: applied.writes, notes: plan.notes, ...(applied.restarted ? { restarted: applied.restarted } : {}) };
        log.info({ strategy: plan.strategy, writes: applied.writes, restarted: applied.restarted, dnsService: options.dnsService }, applied.writes.length > 0 ? 'DNS patch removed' : 'no DNS patch left to remove');
    }
    catch (e) {
        if (!isHostmeshError(e))
            throw e;
        report.errors.push(`DNS patch not removed: ${e.message}`);
        log.error({ code: e.code }, report.errors.at(-1));
    }
    try {
        const listed = await withRetries(attempts, backoff, log, () => kubeCall({ verb: 'list', kind: 'Service', namespace: meshNamespace }, () => apis.core.listNamespacedService({ namespace: meshNamespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` })));
        const shadows = listed.items.filter(isShadowService);
        for (const svc of shadows) {
            const name = svc.metadata.name;
            try {
                await withRetries(attempts, backoff, log, () => kubeCall({ verb: 'delete', kind: 'Service', namespace: meshNamespace, name }, () => apis.core.deleteNamespacedService({ namespace: meshNamespace, name, body: { preconditions: { uid: svc.metadata.uid } } })));
                report.deletedShadows.push(`${meshNamespace}/${name}`);
            }
            catch (e) {
                // Gone already (another cleanup, or the controller still running): that is the goal.
                if (failedWith(e, 404))
                    continue;
                if (!isHostmeshError(e))
                    throw e;
                report.errors.push(`shadow Service not deleted: ${e.message}`);
            }
        }
        log.info({ namespace: meshNamespace, deleted: report.deletedShadows.length }, 'shadow Services deleted');
    }
    catch (e) {
        if (!isHostmeshError(e))
            throw e;
        report.errors.push(`shadow Services not deleted: ${e.message}`);
        log.error({ code: e.code }, report.errors.at(-1));
    }
    return report;
}
