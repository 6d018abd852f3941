/**
 * Dialing one cluster for one accepted TCP connection: pick an endpoint, connect within the
 * cluster's dial timeout, and on failure report it and try another endpoint. Nothing has been
 * forwarded yet at this stage, so a retry is always safe.
 */
import { connect } from 'node:net';
/** Endpoints tried per connection before the client is turned away. */
export const MAX_DIAL_ATTEMPTS = 3;
/** TCP keepalive on both legs, so a peer that vanished without a FIN or RST is found out. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;
function noop() { }
function failureReason(err) {
    if (err.code === 'ECONNREFUSED')
        return 'refused';
    if (err.code === 'ETIMEDOUT')
        return 'timeout';
    return 'error';
}
/**
 * Starts dialing and returns a function that abandons the dial (the client went away). `done`
 * may be called synchronously when the cluster has no endpoint.
 */
export function dialCluster(routeId, cluster, observer, done) {
    const picker = cluster.picker;
    let tried;
    let socket;
    let endpoint;
    let timer;
    let attempts = 0;
    let finished = false;
    const dropAttempt = () => {
        clearTimeout(timer);
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', onError);
        // A late error from the abandoned socket must not become an uncaught exception.
        socket.on('error', noop);
        socket.destroy();
        picker.release(endpoint);
    };
    const fail = (reason) => {
        const ep = endpoint;
        dropAttempt();
        picker.reportFailure(ep);
        observer.connectError(routeId, cluster.id, reason);
        (tried ??= new Set()).add(ep);
        if (attempts >= MAX_DIAL_ATTEMPTS) {
            finished = true;
            done(undefined, undefined);
        }
        else {
            attempt();
        }
    };
    function onConnect() {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        finished = true;
        picker.reportSuccess(endpoint);
        done(socket, endpoint);
    }
    function onError(err) {
        fail(failureReason(err));
    }
    function onTimeout() {
        fail('timeout');
    }
    function attempt() {
        const ep = picker.size > 0 ? picker.pick(undefined, tried) : undefined;
        // The picker hands back an already-tried endpoint only when nothing else is left.
        if (ep === undefined || tried?.has(ep)) {
            if (attempts === 0)
                observer.connectError(routeId, cluster.id, 'no-endpoint');
            finished = true;
            done(undefined, undefined);
            return;
        }
        attempts++;
        endpoint = ep;
        picker.acquire(ep);
        socket = connect({
            host: ep.address,
            port: ep.port,
            allowHalfOpen: true,
            noDelay: true,
            keepAlive: true,
            keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
        });
        timer = setTimeout(onTimeout, cluster.dialTimeoutMs);
        socket.once('connect', onConnect);
        socket.once('error', onError);
    }
    attempt();
    return () => {
        if (finished)
            return;
        finished = true;
        dropAttempt();
    };
}
