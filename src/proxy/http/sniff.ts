/**
 * Tells the protocol of a fresh connection on an HTTP port by its first bytes: an HTTP/2 client
 * opens with the fixed connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (h2c, prior
 * knowledge) and its SETTINGS frame; a TLS client with a handshake record (byte 0x16, then version 3.x), which the
 * proxy cannot terminate and passes through as TCP; anything else is HTTP/1. The bytes read
 * are put back, so whoever takes the connection reads it from its start.
 */
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/**
 * h2 is decided once the client's first frame header follows the magic: RFC 9113 (3.4) makes
 * the client preface the magic and a SETTINGS frame, sent without waiting for the server. So a
 * client that sends the magic and closes (connection churn) never costs an HTTP/2 session.
 */
const H2_DECIDED_AT = PREFACE.length + 9;
/** TLS record type `handshake`; no HTTP/1 method starts with this byte. */
const TLS_HANDSHAKE = 0x16;

export type Protocol = 'h1' | 'h2' | 'tls';

/** What the first bytes say, or undefined when more are needed. */
export function detectProtocol(seen: Buffer): Protocol | undefined {
  if (seen.length === 0) return undefined;
  if (seen[0] === TLS_HANDSHAKE) {
    if (seen.length < 2) return undefined;
    return seen[1] === 3 ? 'tls' : 'h1';
  }
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return 'h1';
  return seen.length < H2_DECIDED_AT ? undefined : 'h2';
}

/**
 * Waits for enough bytes to decide, then calls `decided` with the socket paused and the bytes
 * unshifted. A client that has not sent enough to decide within `timeoutMs` (counted from the
 * connection, not reset by each byte) or that closes its side first is disconnected.
 */
export function sniffProtocol(socket: Socket, timeoutMs: number, decided: (socket: Socket, protocol: Protocol) => void): void {
  let seen: Buffer | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
  };
  const onData = (chunk: Buffer): void => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const protocol = detectProtocol(seen);
    if (protocol === undefined) return;
    stop();
    socket.pause();
    socket.unshift(seen);
    decided(socket, protocol);
  };
  const onEnd = (): void => {
    stop();
    socket.destroy();
  };
  const timer = setTimeout(onEnd, timeoutMs);
  socket.on('end', onEnd);
  socket.on('data', onData);
}
