/**
 * A long text (a 10,000-Service table is ~14 MB of JSON) in pieces small enough that their
 * Buffers never come from glibc's mmap path: once glibc frees a mapped buffer that large it
 * raises its mmap threshold to match and serves later big buffers from its heap, which it then
 * keeps resident (tens of MB of RSS that never come back; issue 12). 32 Ki characters are at
 * most 96 KiB of UTF-8, under the 128 KiB default threshold.
 */
export const TEXT_PIECE = 32 * 1024;

/** `text` cut every `size` characters, never between the two halves of a surrogate pair. */
export function* textPieces(text: string, size = TEXT_PIECE): Generator<string> {
  for (let i = 0; i < text.length;) {
    let end = Math.min(i + size, text.length);
    if (end < text.length && (text.charCodeAt(end - 1) & 0xfc00) === 0xd800) end++;
    yield text.slice(i, end);
    i = end;
  }
}
