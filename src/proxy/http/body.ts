/**
 * The client's request body as undici consumes it: chunk by chunk with backpressure (never
 * buffered whole), timing how long the client takes to send each chunk (body timeout) and how
 * long the backend takes to accept it (write timeout). Abandoning the iteration leaves the
 * client stream alone, so the proxy can still answer.
 */
import type { Readable } from 'node:stream';
import type { HttpAttempt } from './attempt.ts';

export async function* streamBody(attempt: HttpAttempt, body: Readable): AsyncGenerator<Buffer> {
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  let finished = false;
  try {
    for (;;) {
      attempt.bodyWaitStart();
      const next = await chunks.next();
      attempt.bodyWaitEnd();
      if (next.done === true) {
        finished = true;
        return;
      }
      attempt.ex.bytesIn += next.value.length;
      attempt.writeWaitStart();
      yield next.value;
      attempt.writeWaitEnd();
    }
  } finally {
    attempt.bodyWaitEnd();
    if (!finished) await chunks.return?.();
  }
}
