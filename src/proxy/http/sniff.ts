/**
 * Tells HTTP/1 from HTTP/2 prior knowledge (h2c) on a fresh connection by its first bytes:
 * an HTTP/2 client opens with the fixed connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
 * The bytes read are put back, so the chosen server parses the connection from its start.
 */
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type Protocol = 'h1' | 'h2';

/**
 * Waits for enough bytes to decide, then calls `decided` with the socket paused and the bytes
 * unshifted. A client that sends nothing within `timeoutMs` is disconnected.
 */
export function sniffProtocol(socket: Socket, timeoutMs: number, decided: (socket: Socket, protocol: Protocol) => void): void {
  let seen: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const prefix = seen.compare(PREFACE, 0, n, 0, n) === 0;
    if (prefix && seen.length < PREFACE.length) return;
    socket.removeListener('data', onData);
    socket.removeListener('timeout', onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    decided(socket, prefix ? 'h2' : 'h1');
  };
  const onTimeout = (): void => {
    socket.destroy();
  };
  socket.setTimeout(timeoutMs);
  socket.on('timeout', onTimeout);
  socket.on('data', onData);
}
