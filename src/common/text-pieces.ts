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

/** Long lists are written an element at a time; shorter ones (and anything deeper) in one piece. */
const LONG_LIST = 256;

/**
 * JSON.stringify(value), the same text, in pieces: the lists of a table (its Services' entries)
 * one element at a time, so the serialization can pause between pieces.
 */
export function* jsonPieces(value: unknown, depth = 0): Generator<string> {
  if (depth > 2 || value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    if (value.length < LONG_LIST) {
      yield JSON.stringify(value);
      return;
    }
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const v: unknown = value[i];
      yield v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : JSON.stringify(v);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* jsonPieces(v, depth + 1);
  }
  yield '}';
}

/**
 * `pieces` (of one text) as Buffers of UTF-8 of at most TEXT_PIECE characters each: the
 * controller's watch lines (a snapshot is the whole table) are written this way, never as one
 * Buffer of the whole text.
 */
export function bufferPieces(pieces: Iterable<string>): Buffer[] {
  const out: Buffer[] = [];
  let chunk = '';
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length < TEXT_PIECE) continue;
    for (const part of textPieces(chunk)) out.push(Buffer.from(part));
    chunk = '';
  }
  if (chunk !== '') out.push(Buffer.from(chunk));
  return out;
}
