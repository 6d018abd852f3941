/** HTTP/1 syntax checks shared by the proxy's own client fast path and backend pool. */

/** A token (RFC 9110 tchar+): method and header names. */
export const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
/** A byte a header value may not hold (node:http's and undici's rule: HTAB, SP, VCHAR, obs-text). */
export const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Header names already found to be tokens (the same few names come with every message). */
const GOOD_NAMES = new Set<string>();

/** Whether `name` is a token; remembers the first thousand that are. */
export function isTokenName(name: string): boolean {
  if (GOOD_NAMES.has(name)) return true;
  if (!TOKEN.test(name)) return false;
  if (GOOD_NAMES.size < 1000) GOOD_NAMES.add(name);
  return true;
}

/** tchar (RFC 9110) bytes: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** Header value bytes the fast readers take: HTAB, SP and visible ASCII (obs-text is left to llhttp). */
export const VALUE = new Uint8Array(256);
VALUE[9] = 1;
for (let c = 0x20; c <= 0x7e; c++) VALUE[c] = 1;
