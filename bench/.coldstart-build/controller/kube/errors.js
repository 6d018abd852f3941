/**
 * Calls to the Kubernetes API that fail say what failed: the verb, the object and the API
 * server's answer (`update ConfigMap kube-system/coredns failed: HTTP 403: configmaps
 * "coredns" is forbidden: ...`), as a HostmeshError `K8S_REQUEST_FAILED` whose details carry the
 * HTTP status and reason so callers can tell a conflict from an outage.
 */
import { HostmeshError, errorMessage } from '../../common/errors.js';
function statusBody(body) {
    let parsed = body;
    if (typeof body === 'string') {
        try {
            parsed = JSON.parse(body);
        }
        catch {
            return body === '' ? {} : { message: body };
        }
    }
    if (typeof parsed !== 'object' || parsed === null)
        return {};
    const { reason, message } = parsed;
    return {
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof message === 'string' ? { message } : {}),
    };
}
export function describeTarget(t) {
    const where = t.name === undefined
        ? `${t.kind}s${t.namespace === undefined ? '' : ` in namespace ${t.namespace}`}`
        : `${t.kind} ${t.namespace === undefined ? '' : `${t.namespace}/`}${t.name}`;
    return `${t.verb} ${where}`;
}
/** The HTTP status, Status reason and a one-line description of a client-node failure. */
export function kubeFailure(e) {
    const err = e;
    const status = typeof err.code === 'number' ? err.code : typeof err.statusCode === 'number' ? err.statusCode : undefined;
    if (status !== undefined) {
        const body = statusBody(err.body);
        return { status, reason: body.reason, text: body.message ? `HTTP ${status}: ${body.message}` : `HTTP ${status}` };
    }
    const text = err.cause === undefined ? errorMessage(e) : `${errorMessage(e)} (${errorMessage(err.cause)})`;
    return { status: undefined, reason: undefined, text };
}
/** Runs one API call; a failure becomes `K8S_REQUEST_FAILED` naming the verb and the object. */
export async function kubeCall(target, call) {
    try {
        return await call();
    }
    catch (e) {
        const f = kubeFailure(e);
        const details = { ...target, status: f.status, reason: f.reason };
        throw new HostmeshError('K8S_REQUEST_FAILED', `${describeTarget(target)} failed: ${f.text}`, { ...details }, { cause: e });
    }
}
/** The details of a `K8S_REQUEST_FAILED` error, or undefined for any other error. */
export function requestFailure(e) {
    if (!(e instanceof HostmeshError) || e.code !== 'K8S_REQUEST_FAILED')
        return undefined;
    return e.details;
}
/** Whether `e` is a failed API call answered with this HTTP status. */
export function failedWith(e, status) {
    return requestFailure(e)?.status === status;
}
