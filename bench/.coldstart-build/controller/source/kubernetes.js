/**
 * The cluster as a stream of `ClusterState` snapshots, from `@kubernetes/client-node` informers
 * on Services and EndpointSlices (all namespaces, or one pair per watched namespace).
 *
 * What client-node 2.0's informer (`ListWatch`) does on its own, found by experiment against
 * test/support/fake-apiserver.ts, and what this file adds:
 * - A watch that ends cleanly is resumed from the last resourceVersion; a 410 (an ERROR watch
 *   event with code 410, or an HTTP 410) clears the version and relists, firing `delete` for
 *   objects that disappeared meanwhile; an ERROR event with another code is ignored and the
 *   watch resumed when the stream ends. All of this is left to the informer.
 * - Any other failure (a reset connection, a refused connection, a 5xx, a failed list) is passed
 *   to the `error` callbacks and the informer STOPS. `Informer` (informer.ts) restarts it after a
 *   jittered exponential backoff; it keeps its resourceVersion, so the restart resumes the watch
 *   (or relists on 410) without losing updates.
 * - `stop()` aborts the watch, which also reaches the `error` callbacks (an AbortError), and a
 *   stop during a reconnect delay would still open a new watch afterwards: the watch used here
 *   refuses to connect once the source is stopped.
 * - Listed objects are deserialized into client model classes (Dates, for instance) while watched
 *   ones are plain JSON; listed items are turned back into plain JSON so every object in a
 *   snapshot has the same shape as a manifest read from YAML.
 * - Watches ask for bookmarks, so a quiet resource's version stays fresh and a reconnect after a
 *   long idle period does not need a relist.
 */
import { EventEmitter } from 'node:events';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { HostmeshError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { DEFAULT_BACKOFF } from '../kube/loop.js';
import { Informer } from '../kube/informer.js';
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** By namespace, then name (the order translation wants, so it need not sort again); allocates nothing. */
function byKey(a, b) {
    const na = a.metadata?.namespace ?? '';
    const nb = b.metadata?.namespace ?? '';
    if (na !== nb)
        return na < nb ? -1 : 1;
    const ma = a.metadata?.name ?? '';
    const mb = b.metadata?.name ?? '';
    return ma < mb ? -1 : ma > mb ? 1 : 0;
}
export class KubernetesSource {
    /** Resolves once every informer has completed its first list; rejects if stopped before. */
    synced;
    emitter = new EventEmitter();
    feeds = [];
    ignore;
    log;
    resolveSynced;
    rejectSynced;
    isSynced = false;
    started = false;
    stopped = false;
    changePending = false;
    snapshot;
    constructor(options) {
        this.log = options.logger ?? createLogger('kubernetes-source');
        const minMs = options.backoff?.minMs ?? DEFAULT_BACKOFF.minMs;
        const backoff = { minMs, maxMs: Math.max(minMs, options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs) };
        const watchNamespaces = [...new Set(options.watchNamespaces ?? [])];
        for (const ns of [...watchNamespaces, ...(options.ignoreNamespaces ?? [])]) {
            if (!DNS1123_LABEL.test(ns)) {
                throw new HostmeshError('K8S_BAD_NAMESPACE', `namespace "${ns}" is not a valid namespace name (a DNS-1123 label)`, { namespace: ns });
            }
        }
        this.ignore = new Set(options.ignoreNamespaces ?? []);
        this.synced = new Promise((resolve, reject) => {
            this.resolveSynced = resolve;
            this.rejectSynced = reject;
        });
        // Nobody may be waiting on `synced` when stop() rejects it; that must not be an unhandled rejection.
        this.synced.catch(() => { });
        const kc = options.kubeConfig;
        const core = kc.makeApiClient(CoreV1Api);
        const discovery = kc.makeApiClient(DiscoveryV1Api);
        const namespaces = watchNamespaces.length > 0 ? watchNamespaces : [undefined];
        for (const namespace of namespaces) {
            this.feeds.push(this.feed(kc, backoff, 'services', namespace, () => namespace === undefined ? core.listServiceForAllNamespaces() : core.listNamespacedService({ namespace })));
            this.feeds.push(this.feed(kc, backoff, 'endpointslices', namespace, () => namespace === undefined ? discovery.listEndpointSliceForAllNamespaces() : discovery.listNamespacedEndpointSlice({ namespace })));
        }
    }
    on(event, listener) {
        this.emitter.on(event, listener);
        return this;
    }
    off(event, listener) {
        this.emitter.off(event, listener);
        return this;
    }
    subscribe(listener) {
        this.emitter.on('change', listener);
        return () => { this.emitter.off('change', listener); };
    }
    /** The API server's objects are not checked here: translation reports what it cannot use. */
    diagnostics() {
        return [];
    }
    /** Starts every informer. Returns at once; await `synced` for the initial view. */
    start() {
        if (this.started)
            return Promise.resolve();
        this.started = true;
        for (const feed of this.feeds)
            feed.informer.start();
        return Promise.resolve();
    }
    async stop() {
        if (this.stopped)
            return;
        this.stopped = true;
        if (!this.isSynced)
            this.rejectSynced(new HostmeshError('K8S_STOPPED', 'the Kubernetes source was stopped before its initial lists completed'));
        await Promise.all(this.feeds.map((f) => f.informer.stop()));
    }
    /**
     * The latest snapshot: Services and EndpointSlices sorted by namespace/name, ignored
     * namespaces left out. Shared and read-only: callers must not modify it.
     */
    current() {
        if (this.snapshot)
            return this.snapshot;
        const collect = (kind) => this.feeds
            .filter((f) => f.kind === kind)
            .flatMap((f) => f.informer.list())
            .filter((o) => o.metadata?.name !== undefined && !this.ignore.has(o.metadata.namespace ?? ''))
            .toSorted(byKey);
        this.snapshot = {
            services: collect('services'),
            endpointSlices: collect('endpointslices'),
        };
        return this.snapshot;
    }
    feed(kc, backoff, kind, namespace, list) {
        const group = kind === 'services' ? '/api/v1' : '/apis/discovery.k8s.io/v1';
        const path = namespace === undefined ? `${group}/${kind}` : `${group}/namespaces/${namespace}/${kind}`;
        const informer = new Informer({
            kubeConfig: kc,
            path,
            what: namespace === undefined ? `${kind} in all namespaces` : `${kind} in namespace ${namespace}`,
            list,
            backoff,
            log: this.log.child({ resource: kind, namespace }),
            onChange: (changed) => {
                if (changed !== undefined && this.ignore.has(changed.metadata?.namespace ?? ''))
                    return;
                this.snapshot = undefined;
                if (this.isSynced)
                    this.scheduleChange();
                else
                    this.maybeSynced();
            },
            onError: (error) => {
                if (this.emitter.listenerCount('error') === 0)
                    return;
                this.emitter.emit('error', new HostmeshError(error.code, error.message, { resource: kind, namespace, ...error.details }, { cause: error.cause }));
            },
        });
        return { kind, namespace, informer };
    }
    maybeSynced() {
        if (this.isSynced || this.stopped || !this.feeds.every((f) => f.informer.isSynced))
            return;
        this.isSynced = true;
        this.log.info({ services: this.current().services.length, endpointSlices: this.current().endpointSlices.length }, 'initial lists done');
        this.resolveSynced();
        this.scheduleChange();
    }
    scheduleChange() {
        if (this.changePending)
            return;
        this.changePending = true;
        // One snapshot per turn of the event loop: a relist or a burst of watch events emits once.
        setImmediate(() => {
            this.changePending = false;
            if (!this.stopped)
                this.emitter.emit('change', this.current());
        });
    }
}
