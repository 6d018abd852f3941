import { HostmeshError } from '../../common/errors.js';
/**
 * The error a listener's `listen()` rejects with: one stable code, and a message that names the
 * protocol, the address and what the kernel said (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...).
 */
export function listenError(what, host, port, cause) {
    const errno = cause?.code ?? 'unknown';
    const hint = errno === 'EADDRINUSE' ? ' (another process or listener holds the port)'
        : errno === 'EACCES' ? ' (ports below 1024 need CAP_NET_BIND_SERVICE)'
            : errno === 'EADDRNOTAVAIL' ? ' (the address is not assigned to this host)'
                : '';
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new HostmeshError('listen-failed', `${what} cannot listen on ${where}: ${errno}${hint}`, { host, port, errno }, { cause });
}
