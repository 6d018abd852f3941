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
