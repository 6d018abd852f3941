/**
 * Incremental NDJSON framing over a byte stream. A table for 10,000 services is several MB and
 * arrives in many chunks, so partial lines are kept as a list of chunks and joined once; a line
 * longer than `maxLineBytes` is an error rather than unbounded memory.
 *
 * `pushText` gives lines as text, decoded chunk by chunk: a long line is assembled in V8's heap
 * and never as one Buffer of its size. Such a Buffer is memory from malloc, and once glibc has
 * freed one of 14 MB (a 10,000-Service snapshot) it serves later large buffers from its heap
 * too and keeps that heap resident: tens of MB of RSS that never come back (issue 12).
 */
import { StringDecoder } from 'node:string_decoder';
import { HostmeshError } from '../../common/errors.ts';

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly maxLineBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** pushText: the unfinished line's text so far, and the bytes of a character split between chunks. */
  #text: string[] = [];
  readonly #decoder = new StringDecoder('utf8');

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Calls `onLine` for each complete, non-empty line in `chunk` (without its `\n` or `\r\n`). */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end < 0) break;
      let line = chunk.subarray(start, end);
      start = end + 1;
      if (this.#parts.length > 0) {
        this.#parts.push(line);
        line = Buffer.concat(this.#parts, this.#partBytes + line.length);
        this.#parts = [];
        this.#partBytes = 0;
      }
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) this.#tooLong(line.length);
      if (line.length > 0) onLine(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partBytes += rest.length;
      if (this.#partBytes > this.maxLineBytes) this.#tooLong(this.#partBytes);
      this.#parts.push(rest);
    }
  }

  /** Like `push`, with each line decoded (UTF-8); use one of the two on a splitter, not both. */
  pushText(chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end < 0) break;
      let bytes = this.#partBytes + end - start;
      const tail = this.#decoder.end(chunk.subarray(start, end));
      let line = this.#text.length > 0 ? this.#text.join('') + tail : tail;
      start = end + 1;
      this.#text = [];
      this.#partBytes = 0;
      if (line.endsWith('\r')) {
        line = line.slice(0, -1);
        bytes--;
      }
      if (bytes > this.maxLineBytes) this.#tooLong(bytes);
      if (line.length > 0) onLine(line);
    }
    if (start < chunk.length) {
      this.#partBytes += chunk.length - start;
      if (this.#partBytes > this.maxLineBytes) this.#tooLong(this.#partBytes);
      this.#text.push(this.#decoder.write(chunk.subarray(start)));
    }
  }

  /** Bytes of an unfinished line held. */
  get pendingBytes(): number {
    return this.#partBytes;
  }

  #tooLong(size: number): never {
    this.#parts = [];
    this.#text = [];
    this.#decoder.end();
    this.#partBytes = 0;
    throw new HostmeshError('WATCH_LINE_TOO_LONG', `the controller sent a line of at least ${size} bytes; the limit is ${this.maxLineBytes} bytes`);
  }
}
