/** Small response and body helpers for the controller API (node:http). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HostmeshError } from '../../common/errors.ts';
import type { ErrorCode } from '../../common/errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Errors are `{"error":{"code","message"}}`, the code stable for scripts. */
export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

export function sendText(res: ServerResponse, status: number, text: string, head: boolean): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

/**
 * Reads a request body of at most `limit` bytes. Rejects with HostmeshError BODY_TOO_LARGE as
 * soon as the limit is passed (the caller answers 413 and closes the connection).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HostmeshError('BODY_TOO_LARGE', `request body of ${declared} bytes is over the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new HostmeshError('BODY_TOO_LARGE', `request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new HostmeshError('BODY_ABORTED', 'the client went away before sending the whole body'));
    });
  });
}
