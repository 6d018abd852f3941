import { buildConnector, errors } from 'undici';
export function dialer(scheme, dialTimeoutMs) {
    const base = buildConnector({
        timeout: 0,
        // TLS: ALPN offers HTTP/1.1 only; h2c: prior knowledge on a plain socket.
        allowH2: scheme === 'h2c',
        ...(scheme === 'h2c' ? { useH2c: true } : {}),
        ...(scheme === 'https' ? { rejectUnauthorized: false } : {}),
    });
    return (opts, callback) => {
        let settled = false;
        const dialing = {};
        const timer = setTimeout(() => {
            if (settled)
                return;
            settled = true;
            dialing.socket?.destroy();
            callback(new errors.ConnectTimeoutError(`connect timeout after ${dialTimeoutMs} ms`), null);
        }, dialTimeoutMs);
        // The connector returns the socket it dials (its type says void).
        dialing.socket = base(opts, (...args) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            callback(...args);
        });
    };
}
