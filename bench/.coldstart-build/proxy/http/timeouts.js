/**
 * Default idle timeouts of HTTP forwarding, for Services that set none. A Service overrides
 * them with its `read-timeout` and `body-timeout` annotations; `0` there turns one off, on
 * purpose. (TCP and UDP ports keep no default: an idle database connection is normal.)
 */
/** Longest wait for the next byte from a backend that owes a response (nginx's proxy_read_timeout). */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
/** Longest wait for the next chunk of a request body from the client (nginx's client_body_timeout). */
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;
/** The read timeout an HTTP attempt runs with: the Service's, else the default; 0 means none. */
export function httpReadTimeoutMs(configured) {
    if (configured === undefined)
        return DEFAULT_READ_TIMEOUT_MS;
    return configured === 0 ? undefined : configured;
}
/** The same for the request body's idle timeout. */
export function httpBodyTimeoutMs(configured) {
    if (configured === undefined)
        return DEFAULT_BODY_TIMEOUT_MS;
    return configured === 0 ? undefined : configured;
}
