/**
 * One informer on one collection, kept running through API server trouble: the Kubernetes
 * source's Services and EndpointSlices, and the controller's mesh-namespace Services and
 * kube-system ConfigMaps and DNS Deployments.
 *
 * client-node's `ListWatch` resumes a watch that ends cleanly and relists after a 410, but stops
 * on any other error (see source/kubernetes.ts for what was found by experiment); this one is
 * restarted after a jittered backoff and keeps its resourceVersion, so nothing is lost. Listed
 * items are turned into plain JSON, like watched ones, so every cached object has one shape.
 */
import { ListWatch, Watch } from '@kubernetes/client-node';
import { HostmeshError } from '../../common/errors.js';
import { backoffDelay } from './loop.js';
import { kubeFailure } from './errors.js';
export class Informer {
    /** Resolves once the first list is stored; never rejects (stop() leaves it pending). */
    synced;
    #options;
    #informer;
    #timers = new Set();
    #resolveSynced;
    #isSynced = false;
    #failures = 0;
    #started = false;
    #stopped = false;
    constructor(options) {
        this.#options = options;
        this.synced = new Promise((resolve) => { this.#resolveSynced = resolve; });
        const list = async () => {
            let result;
            try {
                result = await options.list();
            }
            catch (e) {
                throw new HostmeshError('K8S_LIST_FAILED', `listing ${options.what} failed: ${kubeFailure(e).text}`, undefined, { cause: e });
            }
            this.#failures = 0;
            // The informer stores the items right after this promise settles.
            setImmediate(() => this.#listed());
            return { ...result, items: result.items.map((item) => JSON.parse(JSON.stringify(item))) };
        };
        const watch = new GuardedWatch(options.kubeConfig, () => this.#stopped, () => { this.#failures = 0; });
        this.#informer = new ListWatch(options.path, watch, list, false, options.labelSelector, undefined, {
            // The informer doubles its delay from 1 s between reconnects that saw no event; follow
            // the same count of doublings on this informer's own (jittered) scale.
            delayFn: (ms) => this.#sleep(backoffDelay(options.backoff, Math.max(0, Math.round(Math.log2(ms / 1000))))),
        });
        const changed = (obj) => {
            if (this.#isSynced)
                options.onChange(obj);
        };
        this.#informer.on('add', changed);
        this.#informer.on('update', changed);
        this.#informer.on('delete', changed);
        this.#informer.on('error', (err) => this.#failed(err));
    }
    get isSynced() {
        return this.#isSynced;
    }
    start() {
        if (this.#started)
            return;
        this.#started = true;
        this.#run();
    }
    async stop() {
        if (this.#stopped)
            return;
        this.#stopped = true;
        for (const t of this.#timers)
            clearTimeout(t);
        this.#timers.clear();
        await this.#informer.stop();
    }
    /** The cached objects (shared: do not modify). */
    list() {
        return this.#informer.list();
    }
    get(name, namespace) {
        return this.#informer.get(name, namespace);
    }
    #run() {
        if (this.#stopped)
            return;
        this.#informer.start().catch((e) => this.#failed(e));
    }
    #failed(err) {
        if (this.#stopped)
            return;
        const retryInMs = backoffDelay(this.#options.backoff, this.#failures++);
        const details = { attempt: this.#failures, retryInMs };
        const error = err instanceof HostmeshError
            ? new HostmeshError(err.code, err.message, details, { cause: err.cause })
            : new HostmeshError('K8S_WATCH_FAILED', `watching ${this.#options.what} failed: ${kubeFailure(err).text}`, details, { cause: err });
        this.#options.log.warn({ code: error.code, ...details }, error.message);
        this.#options.onError?.(error);
        const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#run();
        }, retryInMs);
        this.#timers.add(timer);
    }
    #listed() {
        if (this.#isSynced || this.#stopped)
            return;
        this.#isSynced = true;
        this.#resolveSynced();
        this.#options.onChange();
    }
    /** A reconnect delay of the informer's, cut short by stop(). */
    #sleep(ms) {
        return new Promise((resolve) => {
            if (this.#stopped) {
                resolve();
                return;
            }
            const timer = setTimeout(() => {
                this.#timers.delete(timer);
                resolve();
            }, ms);
            this.#timers.add(timer);
        });
    }
}
/** A watch that asks for bookmarks, reports liveness (connected or an event), and opens nothing once stopped. */
class GuardedWatch extends Watch {
    #stopped;
    #alive;
    constructor(kc, stopped, alive) {
        super(kc);
        this.#stopped = stopped;
        this.#alive = alive;
    }
    async watch(path, queryParams, callback, done) {
        if (this.#stopped()) {
            const idle = new AbortController();
            idle.abort();
            return idle;
        }
        let failed = false;
        const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, (phase, obj, watchObj) => {
            if (phase !== 'ERROR')
                this.#alive();
            callback(phase, obj, watchObj);
        }, (err) => {
            if (err)
                failed = true;
            done(err);
        });
        // Connected: a quiet watch is a healthy one, so the backoff starts over.
        if (!failed)
            this.#alive();
        return controller;
    }
}
