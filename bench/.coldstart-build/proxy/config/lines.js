/**
 * Incremental NDJSON framing over a byte stream. A table for 10,000 services is several MB and
 * arrives in many chunks, so partial lines are kept as a list of chunks and joined once; a line
 * longer than `maxLineBytes` is an error rather than unbounded memory.
 */
import { HostmeshError } from '../../common/errors.js';
const LF = 0x0a;
const CR = 0x0d;
export class LineSplitter {
    maxLineBytes;
    #parts = [];
    #partBytes = 0;
    constructor(maxLineBytes) {
        this.maxLineBytes = maxLineBytes;
    }
    /** Calls `onLine` for each complete, non-empty line in `chunk` (without its `\n` or `\r\n`). */
    push(chunk, onLine) {
        let start = 0;
        for (;;) {
            const end = chunk.indexOf(LF, start);
            if (end < 0)
                break;
            let line = chunk.subarray(start, end);
            start = end + 1;
            if (this.#parts.length > 0) {
                this.#parts.push(line);
                line = Buffer.concat(this.#parts, this.#partBytes + line.length);
                this.#parts = [];
                this.#partBytes = 0;
            }
            if (line.length > 0 && line[line.length - 1] === CR)
                line = line.subarray(0, line.length - 1);
            if (line.length > this.maxLineBytes)
                this.#tooLong(line.length);
            if (line.length > 0)
                onLine(line);
        }
        if (start < chunk.length) {
            const rest = chunk.subarray(start);
            this.#partBytes += rest.length;
            if (this.#partBytes > this.maxLineBytes)
                this.#tooLong(this.#partBytes);
            this.#parts.push(rest);
        }
    }
    /** Bytes of an unfinished line held. */
    get pendingBytes() {
        return this.#partBytes;
    }
    #tooLong(size) {
        this.#parts = [];
        this.#partBytes = 0;
        throw new HostmeshError('WATCH_LINE_TOO_LONG', `the controller sent a line of at least ${size} bytes; the limit is ${this.maxLineBytes} bytes`);
    }
}
