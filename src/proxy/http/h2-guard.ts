/**
 * The content-length guard of an h2c connection: a duplex between the client's socket and
 * Node's HTTP/2 session that reads the client's frames before the session does.
 *
 * Why: nghttp2 (under Node's session) treats DATA beyond a stream's `content-length` as a
 * connection error: the whole session ends with GOAWAY PROTOCOL_ERROR, so one malformed stream
 * would cancel every other stream on the connection (RFC 9113 8.1.1 makes it a stream error).
 * The guard counts each stream's DATA against its `content-length` and, for the frame that
 * goes beyond it, resets only that stream (RST_STREAM PROTOCOL_ERROR) and hands the session the
 * frame's bytes as padding (zero data bytes): flow control still accounts for every byte the
 * client sent, and neither the session nor the backend sees data past the declared length.
 *
 * The `content-length` comes from the session itself (its `stream` event carries the decoded
 * headers), so the guard needs no HPACK decoder of its own: after a HEADERS block that opens a
 * stream it holds the following frames until the session has announced that stream, or has
 * answered the block without opening one (an RST_STREAM or GOAWAY it writes: a refused or
 * malformed stream); a second at most, so a session that never says cannot stall the
 * connection. Only frame headers are parsed (both ways); frames pass through unchanged
 * otherwise.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { constants } from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

const PREFACE_LENGTH = 24;
const HEADER = 9;
const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const GOAWAY = 7;
/** Longest wait for the session to announce a stream, ms (a safety net: it answers at once). */
const AWAIT_LIMIT_MS = 1000;
const CONTINUATION = 9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
/** Largest frame payload the guard rewrites (the default SETTINGS_MAX_FRAME_SIZE, which the proxy keeps). */
const MAX_FRAME = 16_384;
/** A padding-only DATA frame carries at most this many bytes (pad-length byte plus 255). */
const MAX_PADDING_FRAME = 256;

interface Tracked {
  stream: ServerHttp2Stream;
  /** Bytes the stream may still carry; -1 once it went beyond and was reset. */
  remaining: number;
}

/** DATA frames of `payloadLength` bytes in total that carry no data (padding only, no END_STREAM). */
export function paddingFrames(streamId: number, payloadLength: number): Buffer {
  const frames: Buffer[] = [];
  let left = payloadLength;
  while (left > 0) {
    const n = Math.min(left, MAX_PADDING_FRAME);
    const f = Buffer.alloc(HEADER + n);
    f.writeUIntBE(n, 0, 3);
    f[3] = DATA;
    f[4] = PADDED;
    f.writeUInt32BE(streamId, 5);
    f[HEADER] = n - 1;
    frames.push(f);
    left -= n;
  }
  return Buffer.concat(frames);
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const v = headers['content-length'];
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

export class H2ContentLengthGuard extends Duplex {
  readonly #socket: Socket;
  #pending: Buffer = Buffer.alloc(0);
  #prefaceLeft = PREFACE_LENGTH;
  /** Streams with a `content-length`, by id. */
  readonly #tracked = new Map<number, Tracked>();
  /** Highest stream id a HEADERS frame opened. */
  #lastOpened = 0;
  /** A stream whose HEADERS block went to the session and which it has not announced yet. */
  #awaiting = 0;
  /** Frames no longer inspected (a frame too large to rewrite: the session refuses it anyway). */
  #passThrough = false;
  /** The session was ended for abuse: nothing more is read. */
  #stopped = false;
  #wantsMore = true;
  /** Streams reset for DATA beyond their content-length (for metrics and tests). */
  resets = 0;
  /** RST_STREAM frames the client sent. */
  #clientResets = 0;
  /** Streams the session completed (not cancelled), counted by the listener's session guard. */
  completed = 0;
  /** Told when the session is ended for abuse (here or by the listener's session guard). */
  onAbuse: (() => void) | undefined = undefined;
  #resetBudget = Infinity;
  #session: ServerHttp2Session | undefined = undefined;
  #awaitTimer: NodeJS.Timeout | undefined = undefined;
  /** Frame headers of what the session writes: bytes of the current frame left to skip, and a partial header. */
  #outSkip = 0;
  #outHead: Buffer = Buffer.alloc(0);

  constructor(socket: Socket) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // No end of input is passed on: HTTP/2 has no half-closed connections, the client's FIN
    // closes the socket (the listener destroys it), and the session learns that as a close.
    // (An end of input would make the session shut its side down while it may still write a
    // GOAWAY, which Node's stream wrapper refuses with an internal assertion.)
    socket.on('close', () => this.destroy());
    socket.on('error', (err: Error) => this.destroy(err));
  }

  /**
   * Follows `session`'s streams (call once, as soon as the session exists). Past `resetBudget`
   * RST_STREAM frames from the client, when they also outnumber the streams completed, the
   * session ends with GOAWAY ENHANCE_YOUR_CALM before the session sees the rest of what was
   * read (rapid reset: counted here, per frame, a batch of thousands of opened-and-cancelled
   * streams in one read never becomes thousands of streams).
   */
  attach(session: ServerHttp2Session, resetBudget = Infinity): void {
    this.#session = session;
    this.#resetBudget = resetBudget;
    // The session reads from the guard through a stream wrapper that has no peer address of
    // its own; it answers with `_peername` (net.Socket's fallback for handles without one), so
    // the client's address stays what requests report.
    const s = this.#socket;
    // oxlint-disable-next-line no-underscore-dangle -- net.Socket's own field, set on purpose
    (session.socket as unknown as { _peername?: object })._peername = { address: s.remoteAddress, port: s.remotePort, family: s.remoteFamily };
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const id = stream.id;
      if (id === undefined) return;
      const length = contentLength(headers);
      if (length !== undefined) {
        this.#tracked.set(id, { stream, remaining: length });
        stream.once('close', () => this.#tracked.delete(id));
      }
      if (id === this.#awaiting) this.#released();
    });
  }

  get socket(): Socket {
    return this.#socket;
  }

  override _read(): void {
    this.#wantsMore = true;
    if (this.#socket.isPaused() && this.#awaiting === 0) this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  #send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#awaiting !== 0) this.#watchOutput(chunk);
    else this.#skipOutput(chunk);
    this.#socket.write(chunk, callback);
  }

  /** Keeps the outgoing frame boundaries while nothing is awaited (no frame header is looked at). */
  #skipOutput(chunk: Buffer): void {
    if (this.#outHead.length === 0 && chunk.length <= this.#outSkip) {
      this.#outSkip -= chunk.length;
      return;
    }
    this.#watchOutput(chunk);
  }

  /** Reads the frame headers the session writes: an RST_STREAM or GOAWAY answers the awaited stream. */
  #watchOutput(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#outSkip > 0) {
        const n = Math.min(this.#outSkip, chunk.length - off);
        this.#outSkip -= n;
        off += n;
        continue;
      }
      const need = HEADER - this.#outHead.length;
      const part = chunk.subarray(off, off + need);
      this.#outHead = this.#outHead.length === 0 ? Buffer.from(part) : Buffer.concat([this.#outHead, part]);
      off += part.length;
      if (this.#outHead.length < HEADER) return;
      const head = this.#outHead;
      this.#outHead = Buffer.alloc(0);
      this.#outSkip = head.readUIntBE(0, 3);
      const type = head[3];
      const id = head.readUInt32BE(5) & 0x7fffffff;
      if (this.#awaiting !== 0 && (type === GOAWAY || (type === RST_STREAM && id === this.#awaiting))) this.#released();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Done at once: the socket may be closed before its end is written, and the session's
    // shutdown must not wait on that.
    this.#socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(err);
  }

  #forward(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (!this.push(bytes)) {
      this.#wantsMore = false;
      this.#socket.pause();
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#stopped) return;
    if (this.#passThrough) {
      this.#forward(chunk);
      return;
    }
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#drain();
  }

  /** The awaited stream was announced (or its block was processed without one). */
  #released(): void {
    this.#awaiting = 0;
    clearTimeout(this.#awaitTimer);
    // Out of the session's callback: the frames held back go in on a turn of their own.
    queueMicrotask(() => {
      if (this.destroyed) return;
      this.#drain();
      if (this.#wantsMore && this.#awaiting === 0 && this.#socket.isPaused()) this.#socket.resume();
    });
  }

  #drain(): void {
    const buf = this.#pending;
    let off = 0;
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, buf.length);
      this.#forward(buf.subarray(0, n));
      this.#prefaceLeft -= n;
      off = n;
    }
    // Unchanged frames are forwarded in runs, not one push each.
    let run = off;
    while (this.#awaiting === 0 && buf.length - off >= HEADER) {
      const length = buf.readUIntBE(off, 3);
      const type = buf[off + 3] ?? 0;
      const flags = buf[off + 4] ?? 0;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      if (length > MAX_FRAME) {
        // The session answers FRAME_SIZE_ERROR; nothing left to guard.
        this.#passThrough = true;
        this.#forward(buf.subarray(run));
        this.#pending = Buffer.alloc(0);
        return;
      }
      if (buf.length - off < HEADER + length) break;
      const end = off + HEADER + length;
      if (type === DATA) {
        const t = this.#tracked.get(id);
        if (t !== undefined) {
          // Bad padding (longer than the frame) is the session's to refuse; it counts as no data.
          const data = (flags & PADDED) !== 0 ? Math.max(0, length - 1 - (buf[off + HEADER] ?? 0)) : length;
          if (t.remaining < 0 || data > t.remaining) {
            this.#forward(buf.subarray(run, off));
            this.#forward(paddingFrames(id, length));
            run = end;
            if (t.remaining >= 0) this.#reset(t);
          } else t.remaining -= data;
        }
      } else if (type === RST_STREAM) {
        this.#clientResets++;
        if (this.#clientResets > this.#resetBudget && this.#clientResets > this.completed) {
          this.#forward(buf.subarray(run, off));
          this.#pending = Buffer.alloc(0);
          this.#stopped = true;
          this.#socket.pause();
          const session = this.#session;
          this.onAbuse?.();
          if (session !== undefined && !session.destroyed) {
            // The GOAWAY goes out with the session's next write (an immediate); then it ends.
            session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
            setImmediate(() => session.destroy());
          } else this.destroy();
          return;
        }
      } else if ((type === HEADERS || type === CONTINUATION) && (id & 1) === 1) {
        if (type === HEADERS && id > this.#lastOpened) this.#lastOpened = id;
        if ((flags & END_HEADERS) !== 0 && id === this.#lastOpened && !this.#tracked.has(id) && (type === CONTINUATION || (flags & END_STREAM) === 0)) {
          // A new stream that may carry DATA: its content-length is known once the session
          // announces it; later frames wait until then.
          this.#forward(buf.subarray(run, end));
          run = end;
          off = end;
          this.#awaiting = id;
          this.#awaitTimer = setTimeout(onAwaitTimeout, AWAIT_LIMIT_MS, this, id);
          this.#awaitTimer.unref();
          break;
        }
      }
      off = end;
    }
    this.#forward(buf.subarray(run, off));
    this.#pending = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    if (this.#awaiting !== 0 && !this.#socket.isPaused()) this.#socket.pause();
  }

  /** @internal The session never said anything about stream `id`: go on unguarded for it. */
  awaitTimedOut(id: number): void {
    if (this.#awaiting === id) this.#released();
  }

  #reset(t: Tracked): void {
    t.remaining = -1;
    this.resets++;
    if (!t.stream.destroyed) t.stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
  }
}

function onAwaitTimeout(g: H2ContentLengthGuard, id: number): void {
  g.awaitTimedOut(id);
}
