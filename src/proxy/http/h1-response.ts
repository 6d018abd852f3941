/**
 * The backend pool's fast reader for the common response: one read holding exactly one whole
 * response, framed by a single Content-Length, with a plain head. Anything else (no or several
 * Content-Lengths, Transfer-Encoding, 1xx/101/204/304, a head or body split across reads, bytes
 * after the body, obs-text, obs-fold, bare LF, trailing whitespace, a large head) is left to
 * llhttp, which the pool feeds from the same message start. So llhttp still judges every unusual
 * or malformed response; this reader only takes what llhttp (strict) parses the same way
 * (test/proxy/h1-response.property.test.ts holds it to that).
 *
 * Why: for a small response, llhttp's binding costs more than the bytes: the calls between
 * JavaScript and C++ for each callback, a string per header, a malloc'd copy of the body.
 */
import { TCHAR, VALUE } from './h1-syntax.ts';

/** A response this reader took. */
export interface FastResponseHead {
  status: number;
  reason: string;
  minor: 0 | 1;
  /** Names and values as sent, flat (llhttp's order and case). */
  headers: string[];
  keepAlive: boolean;
  /** Where the body starts in the buffer; it runs to the buffer's end. */
  bodyStart: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
/** At most this many header lines (llhttp hands more over in several calls). */
const MAX_HEADERS = 32;

/**
 * Reads `buf` as one whole response: the head, or null when llhttp must take it (see above).
 * `maxHead` is the longest head taken here.
 */
export function readResponse(buf: Buffer, maxHead: number): FastResponseHead | null {
  const n = buf.length;
  // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF
  if (n < 17 || buf[0] !== 0x48 || buf[1] !== 0x54 || buf[2] !== 0x54 || buf[3] !== 0x50 || buf[4] !== 47 || buf[5] !== 0x31 || buf[6] !== 46) return null;
  const minorByte = buf[7];
  if ((minorByte !== 0x30 && minorByte !== 0x31) || buf[8] !== SP || buf[12] !== SP) return null;
  const d0 = buf[9]! - 48;
  const d1 = buf[10]! - 48;
  const d2 = buf[11]! - 48;
  if (d0 < 2 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
  const status = d0 * 100 + d1 * 10 + d2;
  // No body whatever the head says: llhttp's.
  if (status === 204 || status === 304) return null;
  const limit = Math.min(n, maxHead);
  // One string for the head (one call into C++); names and values are slices of it.
  const text = buf.toString('latin1', 0, limit);
  let i = 13;
  let c = text.charCodeAt(i);
  if (c === SP || c === HTAB) return null;
  while (i < limit && VALUE[text.charCodeAt(i)] === 1) i++;
  if (i + 1 >= limit || text.charCodeAt(i) !== CR || text.charCodeAt(i + 1) !== LF) return null;
  c = text.charCodeAt(i - 1);
  if (i > 13 && (c === SP || c === HTAB)) return null;
  const reason = text.slice(13, i);
  i += 2;
  const minor = minorByte === 0x31 ? 1 : 0;
  const headers: string[] = [];
  let length = -1;
  let close = false;
  let keepAliveToken = false;
  for (;;) {
    if (i + 1 >= limit) return null;
    if (text.charCodeAt(i) === CR) {
      if (text.charCodeAt(i + 1) !== LF) return null;
      i += 2;
      break;
    }
    if (headers.length >= MAX_HEADERS * 2) return null;
    const s = i;
    while (i < limit && TCHAR[text.charCodeAt(i)] === 1) i++;
    if (i === limit || text.charCodeAt(i) !== COLON || i === s) return null;
    const nameEnd = i;
    i++;
    c = text.charCodeAt(i);
    while (i < limit && (c === SP || c === HTAB)) c = text.charCodeAt(++i);
    const v0 = i;
    while (i < limit && VALUE[text.charCodeAt(i)] === 1) i++;
    if (i + 1 >= limit || text.charCodeAt(i) !== CR || text.charCodeAt(i + 1) !== LF) return null;
    c = text.charCodeAt(i - 1);
    if (i > v0 && (c === SP || c === HTAB)) return null;
    const name = text.slice(s, nameEnd);
    const value = text.slice(v0, i);
    const nameLength = nameEnd - s;
    // Only the names that frame the message or the connection are looked at: content-length
    // (14), connection (10), transfer-encoding (17), upgrade (7), proxy-connection (16).
    if (nameLength === 14 || nameLength === 10 || nameLength === 17 || nameLength === 7 || nameLength === 16) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (length !== -1 || i === v0 || i - v0 > 15) return null;
        length = 0;
        for (let k = v0; k < i; k++) {
          const d = text.charCodeAt(k) - 48;
          if (d < 0 || d > 9) return null;
          length = length * 10 + d;
        }
      } else if (lower === 'connection') {
        const v = value.toLowerCase();
        if (v === 'close') close = true;
        else if (v === 'keep-alive') keepAliveToken = true;
        else return null;
      } else if (lower === 'transfer-encoding' || lower === 'upgrade' || lower === 'proxy-connection') return null;
    }
    headers.push(name, value);
    i += 2;
  }
  // Both tokens: llhttp's keep-alive answer then depends on the version; leave it to llhttp.
  if (close && keepAliveToken) return null;
  // Exactly the body after the head: nothing missing, nothing more.
  if (length === -1 || i + length !== n) return null;
  return { status, reason, minor, headers, keepAlive: minor === 1 ? !close : keepAliveToken && !close, bodyStart: i };
}
