/** Why a request could not be answered by a backend, and the status each reason maps to. */

export type Failure =
  /** The chosen backend cluster has no ready endpoints. */
  | 'no-endpoint'
  /** Every backend of the route has weight 0. */
  | 'no-backend'
  /** Connecting to the endpoint failed (refused, unreachable, TLS handshake). */
  | 'dial'
  /** Connecting took longer than the cluster's dial timeout. */
  | 'dial-timeout'
  /** The backend sent nothing for longer than the read timeout before the response head. */
  | 'read-timeout'
  /** The backend accepted no request bytes for longer than the write timeout. */
  | 'write-timeout'
  /** The route's whole-request deadline passed before the response head. */
  | 'request-timeout'
  /** The backend closed or reset the connection before a response head. */
  | 'reset'
  /** The backend's response head cannot be forwarded (e.g. a header value HTTP forbids). */
  | 'bad-response'
  /** The request cannot be forwarded as it is (e.g. a target the backend client refuses). */
  | 'bad-request'
  /** The route's circuit breaker is open: backends are not contacted for a while. */
  | 'circuit-open';

export const FAILURE_STATUS: Readonly<Record<Failure, number>> = {
  'no-endpoint': 503,
  'no-backend': 503,
  'dial': 502,
  'dial-timeout': 504,
  'read-timeout': 504,
  'write-timeout': 504,
  'request-timeout': 504,
  'reset': 502,
  'bad-response': 502,
  'bad-request': 400,
  'circuit-open': 503,
};

/** Sentence fragments for error bodies: say what happened, never where (no addresses). */
export const FAILURE_REASON: Readonly<Record<Failure, string>> = {
  'no-endpoint': 'has no ready endpoints',
  'no-backend': 'has no backend with a weight above 0',
  'dial': 'could not be reached',
  'dial-timeout': 'did not accept a connection in time',
  'read-timeout': 'did not answer in time',
  'write-timeout': 'did not accept the request in time',
  'request-timeout': 'did not complete the request in time',
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
export function connectFailure(err: Error): Failure {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'dial-timeout';
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') return 'bad-request';
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') return 'reset';
  return 'dial';
}
