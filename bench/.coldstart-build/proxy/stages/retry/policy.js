/** Indexes into RETRY_REASONS (metrics.ts); NOT_RETRIABLE for outcomes never retried. */
export const NOT_RETRIABLE = -1;
/** The backend never received the request (refused, unreachable, dial timeout). */
export const CONNECT = 0;
/** The backend closed or reset the connection before answering. */
export const RESET = 1;
/** The backend did not answer, or did not take the body, in time. */
export const TIMEOUT = 2;
/** The backend answered with a status listed in `retry-codes`. */
export const STATUS = 3;
export function failureReason(f) {
    switch (f) {
        case 'dial':
        case 'dial-timeout':
            return CONNECT;
        case 'reset':
            return RESET;
        case 'read-timeout':
        case 'write-timeout':
            return TIMEOUT;
        default:
            // no-endpoint, bad-request, ...: another try would meet the same answer.
            return NOT_RETRIABLE;
    }
}
/** A lookup over 100..599 built from inclusive ranges; statuses outside are never retriable. */
export function statusMatcher(ranges) {
    if (ranges.length === 0)
        return () => false;
    const table = new Uint8Array(600);
    for (const [from, to] of ranges)
        table.fill(1, Math.max(0, from), Math.min(600, to + 1));
    return (status) => status < 600 && table[status] === 1;
}
/**
 * Wait before retry number `retry` (1 for the first): `base` doubling per retry up to `max`,
 * and a random point in the upper half of that, so clients failing together do not retry in
 * lockstep.
 */
export function backoffMs(retry, baseMs, maxMs, random = Math.random) {
    const d = Math.min(maxMs, baseMs * 2 ** Math.min(retry - 1, 30));
    return d / 2 + (random() * d) / 2;
}
