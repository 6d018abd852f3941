/**
 * Relaying bytes between an accepted client and its connected upstream, with backpressure both
 * ways and TCP half-close: a FIN from one side becomes `end()` on the other while the opposite
 * direction keeps flowing. Each socket closes itself once both of its halves are done
 * (allowHalfOpen + autoDestroy); an error or a timeout on either side resets both.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../common/log.ts';

export interface RelayTimeouts {
  /** Longest wait for the next byte from the backend while it owes us data. */
  readonly readTimeoutMs: number | undefined;
  /** Longest a write to the backend may stay blocked (backend not reading). */
  readonly writeTimeoutMs: number | undefined;
}

/**
 * Starts relaying; `onClosed` runs once, after both sockets have closed. Returns a function that
 * tears both down at once (drain deadline, shutdown).
 */
export function relay(client: Socket, upstream: Socket, timeouts: RelayTimeouts, log: Logger, onClosed: () => void): () => void {
  let open = 2;
  let upstreamPaused = false;
  let upstreamEnded = false;
  let writeBlocked = false;
  let readTimer: NodeJS.Timeout | undefined;
  let writeTimer: NodeJS.Timeout | undefined;

  // A cut stream is reset rather than ended, so neither peer mistakes it for a complete one.
  const abort = (): void => {
    if (!client.destroyed) client.resetAndDestroy();
    if (!upstream.destroyed) upstream.resetAndDestroy();
  };

  const sideClosed = (): void => {
    if (--open > 0) return;
    clearTimeout(readTimer);
    clearTimeout(writeTimer);
    onClosed();
  };

  const onError = (err: Error): void => {
    log.debug({ err: err.message }, 'tcp relay error, closing both sides');
    abort();
  };

  const onReadTimeout = (): void => {
    // A backend held back by a slow client is not idle; only its own silence counts.
    if (upstreamPaused) {
      readTimer!.refresh();
      return;
    }
    if (upstreamEnded) return;
    log.debug({ timeoutMs: timeouts.readTimeoutMs }, 'tcp read timeout: backend sent nothing, closing');
    abort();
  };

  const onWriteTimeout = (): void => {
    if (!writeBlocked) return;
    log.debug({ timeoutMs: timeouts.writeTimeoutMs }, 'tcp write timeout: backend stopped reading, closing');
    abort();
  };

  if (timeouts.readTimeoutMs !== undefined) readTimer = setTimeout(onReadTimeout, timeouts.readTimeoutMs).unref();

  // client -> upstream
  client.on('data', (chunk: Buffer) => {
    if (upstream.write(chunk)) return;
    client.pause();
    writeBlocked = true;
    if (timeouts.writeTimeoutMs !== undefined) {
      if (writeTimer === undefined) writeTimer = setTimeout(onWriteTimeout, timeouts.writeTimeoutMs).unref();
      else writeTimer.refresh();
    }
  });
  upstream.on('drain', () => {
    writeBlocked = false;
    client.resume();
  });
  client.on('end', () => upstream.end());

  // upstream -> client
  upstream.on('data', (chunk: Buffer) => {
    readTimer?.refresh();
    if (client.write(chunk)) return;
    upstream.pause();
    upstreamPaused = true;
  });
  client.on('drain', () => {
    upstreamPaused = false;
    readTimer?.refresh();
    upstream.resume();
  });
  upstream.on('end', () => {
    upstreamEnded = true;
    clearTimeout(readTimer);
    client.end();
  });

  client.on('error', onError);
  upstream.on('error', onError);
  client.on('close', sideClosed);
  upstream.on('close', sideClosed);
  return abort;
}
