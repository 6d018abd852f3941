/**
 * The client's request body as undici consumes it: chunk by chunk with backpressure (never
 * buffered whole), timing how long the client takes to send each chunk (body timeout) and how
 * long the backend takes to accept it (write timeout). Abandoning the iteration leaves the
 * client stream alone, so the proxy can still answer.
 *
 * An HTTP/2 stream with a `content-length` may send all its declared bytes and then more DATA
 * (the h2c guard resets it then, src/proxy/http/h2-guard.ts). So the backend never holds a
 * complete request for a stream that may still go beyond its length, the last declared byte is
 * held back until the stream ends (END_STREAM); a reset stream's body never completes. (undici
 * writes the request head with the first body byte, so a declared length of 0 sends nothing
 * before the end either.)
 */
import type { Readable } from 'node:stream';
import type { HttpAttempt } from './attempt.ts';

/**
 * `holdAfter`: the declared length of an HTTP/2 body (its last byte waits for the end of the
 * stream), or -1 to pass every chunk on as it comes.
 */
export async function* streamBody(attempt: HttpAttempt, body: Readable, holdAfter = -1): AsyncGenerator<Buffer> {
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  let finished = false;
  let left = holdAfter;
  let held: Buffer | undefined;
  try {
    for (;;) {
      attempt.bodyWaitStart();
      const next = await chunks.next();
      attempt.bodyWaitEnd();
      if (next.done === true) {
        finished = true;
        if (held !== undefined) {
          attempt.writeWaitStart();
          yield held;
          attempt.writeWaitEnd();
        }
        return;
      }
      let chunk = next.value;
      attempt.ex.bytesIn += chunk.length;
      if (left >= 0) {
        if (left <= chunk.length) {
          // The declared length is reached: its last byte goes only with the end of the stream
          // (nothing beyond the length goes at all; the guard resets such a stream).
          if (held === undefined && left > 0) held = chunk.subarray(left - 1, left);
          chunk = chunk.subarray(0, Math.max(0, left - 1));
          left = 0;
        } else left -= chunk.length;
        if (chunk.length === 0) continue;
      }
      attempt.writeWaitStart();
      yield chunk;
      attempt.writeWaitEnd();
    }
  } finally {
    attempt.bodyWaitEnd();
    if (!finished) await chunks.return?.();
  }
}
