/** Why a request could not be answered by a backend, and the status each reason maps to. */
export const FAILURE_STATUS = {
    'no-endpoint': 503,
    'no-backend': 503,
    'dial': 502,
    'dial-timeout': 504,
    'read-timeout': 504,
    'write-timeout': 504,
    'request-timeout': 504,
    'body-timeout': 408,
    'reset': 502,
    'bad-response': 502,
    'bad-request': 400,
    'circuit-open': 503,
};
/** Sentence fragments for error bodies: say what happened, never where (no addresses). */
export const FAILURE_REASON = {
    'no-endpoint': 'has no ready endpoints',
    'no-backend': 'has no backend with a weight above 0',
    'dial': 'could not be reached',
    'dial-timeout': 'did not accept a connection in time',
    'read-timeout': 'did not answer in time',
    'write-timeout': 'did not accept the request in time',
    'request-timeout': 'did not complete the request in time',
    'body-timeout': 'did not get the request body in time: the client stopped sending it',
    'reset': 'closed the connection without a response',
    'bad-response': 'sent a response that cannot be forwarded',
    'bad-request': 'cannot be sent this request',
    'circuit-open': 'is failing: its circuit breaker is open',
};
/**
 * The failure an undici error before any response byte stands for, when the request was still
 * connecting: a dial failure or timeout (which passive health counts), our own abort or a pool
 * shutting down (reset), or a request undici refused (bad-request).
 */
export function connectFailure(err) {
    const code = err.code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT')
        return 'dial-timeout';
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED')
        return 'bad-request';
    if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED')
        return 'reset';
    return 'dial';
}
