/**
 * Connection set-up for backend pools with a precise dial timeout. undici's own connect timeout
 * runs on its coarse timer wheel (about a second of slack), too loose for the sub-second dial
 * timeouts users configure; this wraps undici's connector with a plain timer.
 */
import type { Socket } from 'node:net';
import { buildConnector, errors } from 'undici';
import type { Scheme } from '../../table/index.ts';
import { trackBackendSocket } from '../overload.ts';

export function dialer(scheme: Scheme, dialTimeoutMs: number): buildConnector.connector {
  const base = buildConnector({
    timeout: 0,
    // TLS: ALPN offers HTTP/1.1 only; h2c: prior knowledge on a plain socket.
    allowH2: scheme === 'h2c',
    ...(scheme === 'h2c' ? { useH2c: true } : {}),
    ...(scheme === 'https' ? { rejectUnauthorized: false } : {}),
  } as buildConnector.BuildOptions);
  return (opts, callback) => {
    let settled = false;
    const dialing: { socket?: Socket } = {};
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      dialing.socket?.destroy();
      callback(new errors.ConnectTimeoutError(`connect timeout after ${dialTimeoutMs} ms`), null);
    }, dialTimeoutMs);
    // The connector returns the socket it dials (its type says void).
    dialing.socket = (base as (o: buildConnector.Options, cb: buildConnector.Callback) => Socket)(opts, (...args: Parameters<buildConnector.Callback>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(...args);
    });
    // Counted from creation (the fd exists while it dials) until it closes.
    if (dialing.socket !== undefined) trackBackendSocket(dialing.socket);
  };
}
