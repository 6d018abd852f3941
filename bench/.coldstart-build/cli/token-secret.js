/**
 * `hostmesh token-secret`: creates the bearer token Secret with a random token unless it exists
 * (the chart runs it as a pre-install/pre-upgrade hook). An existing Secret is never changed, so
 * rendering or syncing the chart again never rotates the token; rotating is writing a new value
 * into the Secret (controller and proxies re-read the mounted file).
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { failedWith, kubeCall } from '../controller/kube/errors.js';
/** 40 characters of base64url: 240 random bits. */
export function newToken() {
    return randomBytes(30).toString('base64url');
}
export async function runTokenSecretCommand(opts) {
    const api = opts.kubeConfig.makeApiClient(CoreV1Api);
    const { namespace, name, key } = opts;
    const where = { kind: 'Secret', namespace, name };
    try {
        const existing = await kubeCall({ verb: 'get', ...where }, () => api.readNamespacedSecret({ namespace, name }));
        if (existing.data?.[key] === undefined || existing.data[key] === '') {
            opts.out(`secret ${namespace}/${name} exists without a value under "${key}"; left alone (write one there)`);
            return 1;
        }
        opts.out(`secret ${namespace}/${name} exists; kept`);
        return 0;
    }
    catch (e) {
        if (!failedWith(e, 404))
            throw e;
    }
    const body = {
        apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'hostmesh' } },
        data: { [key]: Buffer.from(newToken()).toString('base64') },
    };
    try {
        await kubeCall({ verb: 'create', ...where }, () => api.createNamespacedSecret({ namespace, body }));
    }
    catch (e) {
        // Another run created it between our get and create: theirs is kept.
        if (!failedWith(e, 409))
            throw e;
        opts.out(`secret ${namespace}/${name} exists; kept`);
        return 0;
    }
    opts.out(`secret ${namespace}/${name} created with a new token under "${key}"`);
    return 0;
}
