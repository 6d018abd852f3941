import { SHADOW_OF_ANNOTATION } from '../constants.js';
import { forEachLimit } from '../kube/loop.js';
import { describeTarget, failedWith, kubeCall, requestFailure } from '../kube/errors.js';
export class MeshNamespaceView {
    #cache;
    #namespace;
    #own = new Map();
    #version = 0;
    constructor(cache, namespace) {
        this.#cache = cache;
        this.#namespace = namespace;
    }
    /** Changes whenever what services() returns may have changed: lets callers reuse what they derived from it. */
    get version() {
        return this.#version;
    }
    /** The informer's cache changed. */
    changed() {
        this.#version++;
    }
    /** Every Service of the mesh namespace as the controller last knew it. */
    services() {
        if (this.#own.size === 0)
            return this.#cache.list();
        const out = new Map(this.#cache.list().map((s) => [s.metadata.name, s]));
        for (const [name, write] of this.#own) {
            if (out.get(name)?.metadata.resourceVersion !== write.before) {
                this.#own.delete(name);
                continue;
            }
            if (write.object)
                out.set(name, write.object);
            else
                out.delete(name);
        }
        return [...out.values()];
    }
    get(name) {
        const cached = this.#cache.get(name, this.#namespace);
        const write = this.#own.get(name);
        if (!write)
            return cached;
        if (cached?.metadata.resourceVersion !== write.before) {
            this.#own.delete(name);
            return cached;
        }
        return write.object;
    }
    /** The resourceVersion the informer has for `name` now: pass it to record() after the write. */
    versionBefore(name) {
        return this.#cache.get(name, this.#namespace)?.metadata.resourceVersion;
    }
    record(name, object, before) {
        this.#own.set(name, { object, before });
        this.#version++;
    }
    forget() {
        if (this.#own.size > 0)
            this.#version++;
        this.#own.clear();
    }
}
/** Objects from client-node carry Dates; the informer's are plain JSON: keep one shape. */
function plain(obj) {
    return JSON.parse(JSON.stringify(obj));
}
/** Creates, updates and deletes the shadows of `diff`, `concurrency` requests at a time. */
export async function writeShadows(api, namespace, diff, view, log, concurrency = 8) {
    const result = { written: 0, again: false, failures: [] };
    const target = (verb, name) => ({ verb, kind: 'Service', namespace, name });
    const failed = (e) => {
        const f = requestFailure(e);
        if (!f)
            throw e;
        const message = e.message;
        log.warn({ verb: f.verb, kind: f.kind, namespace: f.namespace, name: f.name, status: f.status }, message);
        result.failures.push({ target: { verb: f.verb, kind: f.kind, namespace: f.namespace, name: f.name }, message });
    };
    const reread = async (name) => {
        const before = view.versionBefore(name);
        try {
            const fresh = await kubeCall(target('get', name), () => api.readNamespacedService({ namespace, name }));
            view.record(name, plain(fresh), before);
        }
        catch (e) {
            if (!failedWith(e, 404))
                return failed(e);
            view.record(name, undefined, before);
        }
        result.again = true;
    };
    const write = async (verb, svc) => {
        const name = svc.metadata.name;
        const before = view.versionBefore(name);
        try {
            if (verb === 'create') {
                view.record(name, plain(await kubeCall(target(verb, name), () => api.createNamespacedService({ namespace, body: svc }))), before);
            }
            else if (verb === 'update') {
                view.record(name, plain(await kubeCall(target(verb, name), () => api.replaceNamespacedService({ namespace, name, body: svc }))), before);
            }
            else {
                const preconditions = svc.metadata.uid === undefined ? undefined : { uid: svc.metadata.uid };
                await kubeCall(target(verb, name), () => api.deleteNamespacedService({ namespace, name, body: { preconditions } }));
                view.record(name, undefined, before);
            }
            result.written++;
            log.debug({ verb, namespace, name, shadowOf: svc.metadata.annotations?.[SHADOW_OF_ANNOTATION] }, `${describeTarget(target(verb, name))}: done`);
        }
        catch (e) {
            if (verb === 'delete' && failedWith(e, 404)) {
                view.record(name, undefined, before);
                return;
            }
            if (failedWith(e, 409) || failedWith(e, 404)) {
                log.debug({ verb, namespace, name }, 'the shadow changed meanwhile; reading it again');
                await reread(name);
                return;
            }
            failed(e);
        }
    };
    const ops = [
        ...diff.create.map((svc) => ['create', svc]),
        ...diff.update.map((svc) => ['update', svc]),
        ...diff.delete.map((svc) => ['delete', svc]),
    ];
    await forEachLimit(ops, concurrency, ([verb, svc]) => write(verb, svc));
    return result;
}
