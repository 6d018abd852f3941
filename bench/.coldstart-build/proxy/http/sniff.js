const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** TLS record type `handshake`; no HTTP/1 method starts with this byte. */
const TLS_HANDSHAKE = 0x16;
/** What the first bytes say, or undefined when more are needed. */
export function detectProtocol(seen) {
    if (seen.length === 0)
        return undefined;
    if (seen[0] === TLS_HANDSHAKE) {
        if (seen.length < 2)
            return undefined;
        return seen[1] === 3 ? 'tls' : 'h1';
    }
    const n = Math.min(seen.length, PREFACE.length);
    if (seen.compare(PREFACE, 0, n, 0, n) !== 0)
        return 'h1';
    return seen.length < PREFACE.length ? undefined : 'h2';
}
/**
 * Waits for enough bytes to decide, then calls `decided` with the socket paused and the bytes
 * unshifted. A client that has not sent enough to decide within `timeoutMs` (counted from the
 * connection, not reset by each byte) or that closes its side first is disconnected.
 */
export function sniffProtocol(socket, timeoutMs, decided) {
    let seen;
    const stop = () => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
    };
    const onData = (chunk) => {
        seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
        const protocol = detectProtocol(seen);
        if (protocol === undefined)
            return;
        stop();
        socket.pause();
        socket.unshift(seen);
        decided(socket, protocol);
    };
    const onEnd = () => {
        stop();
        socket.destroy();
    };
    const timer = setTimeout(onEnd, timeoutMs);
    socket.on('end', onEnd);
    socket.on('data', onData);
}
