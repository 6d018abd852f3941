/**
 * A backend's `Keep-Alive: timeout=N` hint (RFC 9112 leaves it to the Keep-Alive header of
 * HTTP/1.0 days; Node, nginx and Apache send it): how long the proxy may keep the connection
 * idle. It closes `KEEP_ALIVE_MARGIN_MS` before the backend would, so a request never goes out
 * on a connection the backend is closing, and a longer hint never extends the proxy's own limit.
 * (undici's pools do the same with the same margin; this serves the proxy's own HTTP/1.1 pool.)
 */

/** Safety margin before the backend's announced idle timeout. */
export const KEEP_ALIVE_MARGIN_MS = 2000;

const TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})(?:$|[,;\s])/i;

/**
 * The idle time the hint allows, capped at `capMs`; 0 when the connection should not be kept at
 * all (a hint shorter than the margin); undefined without a usable hint.
 */
export function keepAliveHintMs(value: string | string[] | undefined, capMs: number): number | undefined {
  if (value === undefined) return undefined;
  const m = TIMEOUT.exec(Array.isArray(value) ? value.join(',') : value);
  if (m === null) return undefined;
  return Math.max(0, Math.min(capMs, Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS));
}
