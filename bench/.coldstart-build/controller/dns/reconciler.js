/**
 * Keeping cluster DNS forwarding the mesh zones (`--patch-dns`): informers on the DNS
 * Deployment and the ConfigMaps of kube-system; whenever one of them changes, the DNS Service's
 * address changes, or the resync timer fires, the patch is planned from the cache and applied
 * when it differs (plan.ts writes nothing when DNS is already as wanted). So an EKS add-on update
 * that overwrites the Corefile, or a k3s restart that rewrites it, is repaired within moments,
 * and an unchanged cluster costs no API call.
 *
 * Problems the controller cannot fix (no CoreDNS nor kube-dns, a hand-made block for the mesh
 * zone, unbalanced markers) are status diagnostics, not crashes; API failures are retried with
 * backoff.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { isHostmeshError } from '../../common/errors.js';
import { DNS_DEPLOYMENT_SELECTOR, DNS_NAMESPACE, pickDnsDeployment, planAndApply } from './apply.js';
import { findCorefileConfigMap } from './deployment.js';
import { planDnsPatch } from './plan.js';
import { Informer } from '../kube/informer.js';
import { requestFailure } from '../kube/errors.js';
import { SerialLoop } from '../kube/loop.js';
export class DnsReconciler {
    #options;
    #apis;
    #configMaps;
    #deployments;
    #loop;
    #diagnostics = [];
    #lastProblem;
    constructor(options) {
        this.#options = options;
        const kc = options.kubeConfig;
        this.#apis = { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
        const common = { kubeConfig: kc, backoff: options.backoff, log: options.log, onChange: () => this.trigger() };
        const namespace = DNS_NAMESPACE;
        this.#configMaps = new Informer({
            ...common,
            path: `/api/v1/namespaces/${namespace}/configmaps`,
            what: `configmaps in namespace ${namespace}`,
            list: () => this.#apis.core.listNamespacedConfigMap({ namespace }),
        });
        this.#deployments = new Informer({
            ...common,
            path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
            what: `deployments (${DNS_DEPLOYMENT_SELECTOR}) in namespace ${namespace}`,
            labelSelector: DNS_DEPLOYMENT_SELECTOR,
            list: () => this.#apis.apps.listNamespacedDeployment({ namespace, labelSelector: DNS_DEPLOYMENT_SELECTOR }),
        });
        this.#loop = new SerialLoop(() => this.#run(), { name: 'dns', coalesceMs: options.coalesceMs, backoff: options.backoff, log: options.log });
    }
    /** Starts the informers; the first check runs once both have listed. */
    start() {
        this.#configMaps.start();
        this.#deployments.start();
    }
    async stop() {
        await this.#loop.stop();
        await Promise.all([this.#configMaps.stop(), this.#deployments.stop()]);
    }
    /** Checks (and repairs) the patch soon. */
    trigger() {
        this.#loop.trigger();
    }
    diagnostics() {
        return this.#diagnostics;
    }
    async #run() {
        const { log, zones, dnsService } = this.#options;
        // A plan from a partial cache could report "no CoreDNS" for a moment.
        if (!this.#configMaps.isSynced || !this.#deployments.isSynced)
            return 'done';
        const addresses = this.#options.addresses();
        if (!addresses || addresses.length === 0) {
            return this.#problem({
                severity: 'warning',
                code: 'DNS_SERVICE_MISSING',
                object: { kind: 'Service', namespace: dnsService.namespace, name: dnsService.name },
                message: `Service ${dnsService.namespace}/${dnsService.name} (the proxies' DNS responders) does not exist or has no ClusterIP yet; cluster DNS is patched once it has one`,
            }, 'done');
        }
        const deployment = pickDnsDeployment(this.#deployments.list());
        const observed = { ...(deployment ? { deployment } : {}), configMaps: this.#configMaps.list() };
        try {
            const { plan, applied } = await planAndApply(this.#apis, observed, (o) => planDnsPatch(o, addresses, zones), { namespace: DNS_NAMESPACE });
            if (applied.writes.length > 0 || applied.restarted) {
                log.info({ strategy: plan.strategy, writes: applied.writes, restarted: applied.restarted, notes: plan.notes, addresses }, 'cluster DNS patched');
            }
            this.#diagnostics = [];
            this.#lastProblem = undefined;
            return 'done';
        }
        catch (e) {
            const failure = requestFailure(e);
            if (failure) {
                return this.#problem({
                    severity: 'error',
                    code: 'DNS_APPLY_FAILED',
                    object: { kind: failure.kind, namespace: failure.namespace, name: failure.name ?? failure.kind },
                    message: `${e.message}; retrying with backoff`,
                }, 'retry');
            }
            if (!isHostmeshError(e))
                throw e;
            const ref = deployment ? findCorefileConfigMap(deployment) : undefined;
            const object = e.code === 'DNS_NOT_FOUND' || !ref
                ? { kind: 'Deployment', namespace: DNS_NAMESPACE, name: deployment?.metadata.name ?? 'coredns' }
                : { kind: 'ConfigMap', namespace: ref.namespace, name: ref.name };
            // Fixed by hand: the informers notice the change and the patch is tried again.
            return this.#problem({ severity: 'error', code: e.code, object, message: e.message }, 'done');
        }
    }
    /** Records the problem as the DNS diagnostic; logs it when it is new. */
    #problem(d, outcome) {
        this.#diagnostics = [d];
        if (this.#lastProblem !== d.message) {
            this.#lastProblem = d.message;
            const fields = { code: d.code, kind: d.object.kind, namespace: d.object.namespace, name: d.object.name };
            if (d.severity === 'error')
                this.#options.log.error(fields, d.message);
            else
                this.#options.log.warn(fields, d.message);
        }
        return outcome;
    }
}
