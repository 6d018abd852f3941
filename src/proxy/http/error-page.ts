/**
 * Responses the proxy writes itself. Short, name the service and the reason, never an internal
 * address; JSON when the client's Accept header asks for it. 503s carry Retry-After and, for
 * browsers, a small HTML page.
 */
import { FAILURE_REASON, FAILURE_STATUS } from './failures.ts';
import type { Failure } from './failures.ts';
// Not an ES import: that would load Node's bundled undici (DEVELOPERS.md, "node:http").
const { STATUS_CODES } = process.getBuiltinModule('node:http');

export interface ErrorPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Whether an Accept header prefers JSON (any JSON media type listed before HTML). */
export function wantsJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const json = accept.search(/application\/(?:[\w.+-]*\+)?json/i);
  if (json < 0) return false;
  const html = accept.search(/text\/html/i);
  return html < 0 || json < html;
}

/**
 * @param service the addressed service port (`namespace/name:port`)
 * @param backend the backend service port when it differs (a split), named in the text too
 */
export function errorPage(failure: Failure, service: string, backend: string | undefined, accept: string | undefined, retryAfterSeconds: number): ErrorPage {
  return servicePage(FAILURE_STATUS[failure], service, backend, FAILURE_REASON[failure], accept, retryAfterSeconds);
}

/** A page with any status and reason (a sentence fragment after the service's name), e.g. maintenance. */
export function servicePage(status: number, service: string, backend: string | undefined, reason: string, accept: string | undefined, retryAfterSeconds: number): ErrorPage {
  const title = STATUS_CODES[status] ?? 'Error';
  const subject = backend !== undefined && backend !== service ? `${service} (backend ${backend})` : service;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (status === 503) headers['retry-after'] = String(retryAfterSeconds);
  let body: string;
  if (wantsJson(accept)) {
    headers['content-type'] = 'application/json';
    body = `${JSON.stringify({ status, error: title, service, ...(subject !== service ? { backend } : {}), reason: `${subject} ${reason}` })}\n`;
  } else if (status === 503) {
    headers['content-type'] = 'text/html; charset=utf-8';
    const s = escapeHtml(subject);
    body = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${status} ${title}</title></head>\n` +
      `<body><h1>${title}</h1><p><b>${s}</b> ${escapeHtml(reason)}.</p><p>Retry in ${retryAfterSeconds} seconds.</p><hr><p>hostmesh</p></body></html>\n`;
  } else {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = `${status} ${title}: ${subject} ${reason}\n`;
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  return { status, headers, body };
}

/** The same page as raw HTTP/1.1 bytes, for a connection the HTTP server handed over (upgrade). */
export function rawErrorResponse(page: ErrorPage): string {
  let head = `HTTP/1.1 ${page.status} ${STATUS_CODES[page.status] ?? 'Error'}\r\n`;
  for (const [k, v] of Object.entries(page.headers)) head += `${k}: ${v}\r\n`;
  return `${head}connection: close\r\n\r\n${page.body}`;
}
