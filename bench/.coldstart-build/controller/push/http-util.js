import { HostmeshError } from '../../common/errors.js';
export function sendJson(res, status, body, headers = {}) {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
}
/** Errors are `{"error":{"code","message"}}`, the code stable for scripts. */
export function sendError(res, status, code, message, headers = {}) {
    sendJson(res, status, { error: { code, message } }, headers);
}
export function sendText(res, status, text, head) {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(head ? undefined : text);
}
/**
 * Reads a request body of at most `limit` bytes. Rejects with HostmeshError BODY_TOO_LARGE as
 * soon as the limit is passed (the caller answers 413 and closes the connection).
 */
export function readBody(req, limit) {
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > limit) {
            reject(new HostmeshError('BODY_TOO_LARGE', `request body of ${declared} bytes is over the limit of ${limit} bytes`));
            return;
        }
        const chunks = [];
        let size = 0;
        const onData = (chunk) => {
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
            if (!req.complete)
                reject(new HostmeshError('BODY_ABORTED', 'the client went away before sending the whole body'));
        });
    });
}
