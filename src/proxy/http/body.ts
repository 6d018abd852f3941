/**
 * The client's request body as undici consumes it: chunk by chunk with backpressure (never
 * buffered whole), timing how long the backend takes to accept each chunk (write timeout).
 * Abandoning the iteration leaves the client stream alone, so the proxy can still answer.
 */
import type { Readable } from 'node:stream';
import type { HttpAttempt } from './attempt.ts';

export async function* streamBody(attempt: HttpAttempt, body: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    attempt.ex.bytesIn += chunk.length;
    attempt.writeWaitStart();
    yield chunk;
    attempt.writeWaitEnd();
  }
}
