/**
 * A raw HTTP/2 client that writes frames by hand (for cases a conforming client library refuses
 * to produce, like DATA beyond a stream's content-length) and parses the frames it gets back.
 * Header blocks are HPACK literals without indexing or Huffman coding; responses are decoded
 * only as far as the `:status` (an indexed static entry or a literal with an indexed name).
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an n-bit prefix (RFC 7541, 5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function hpackString(s: string): number[] {
  const b = Buffer.from(s, 'latin1');
  return [...hpackInt(b.length, 7, 0), ...b];
}

/** A header block of literals without indexing (new names), in the order given. */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) out.push(0, ...hpackString(name), ...hpackString(value));
  return Buffer.from(out);
}

export interface Received {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export interface RawH2 {
  readonly socket: Socket;
  /** Every frame received so far. */
  readonly frames: Received[];
  send(...frames: Buffer[]): void;
  /** HEADERS (END_HEADERS, plus END_STREAM when `end`). */
  headers(stream: number, headers: readonly (readonly [string, string])[], end: boolean): void;
  data(stream: number, body: Buffer | string, end: boolean): void;
  /** Resolves once the socket closed. */
  readonly closed: Promise<void>;
}

/** Opens a connection, sends the preface and empty SETTINGS, and ACKs the server's SETTINGS. */
export function rawH2(port: number): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const frames: Received[] = [];
    let buf = Buffer.alloc(0);
    const { promise: closed, resolve: onClosed } = Promise.withResolvers<void>();
    socket.on('error', () => {});
    socket.on('close', () => onClosed());
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f: Received = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(buf.subarray(9, 9 + len)) };
        buf = buf.subarray(9 + len);
        frames.push(f);
        if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0 && !socket.destroyed) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    });
    const c: RawH2 = {
      socket,
      frames,
      closed,
      send: (...fs) => { if (!socket.destroyed) socket.write(Buffer.concat(fs)); },
      headers: (stream, headers, end) => c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | (end ? FLAG.END_STREAM : 0), stream, headerBlock(headers))),
      data: (stream, body, end) => c.send(frame(FRAME.DATA, end ? FLAG.END_STREAM : 0, stream, Buffer.from(body))),
    };
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      resolve(c);
    });
  });
}

/** HPACK static-table indexes of `:status` values (RFC 7541, Appendix A). */
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * The `:status` of a response HEADERS frame. Servers put `:status` first; Node's encoder sends
 * it indexed (static entry) or as a literal with the static name index 8-14 and a plain or
 * Huffman-coded value; only the forms needed here are decoded (undefined otherwise).
 */
export function statusOf(f: Received): number | undefined {
  const p = f.payload;
  const b = p[0];
  if (b === undefined) return undefined;
  if ((b & 0x80) !== 0) return STATIC_STATUS[b & 0x7f];
  // Literal with incremental indexing (01xxxxxx) or without indexing / never indexed (0000/0001).
  const nameIndex = (b & 0x40) !== 0 ? b & 0x3f : b & 0x0f;
  if (nameIndex < 8 || nameIndex > 14) return undefined;
  const lenByte = p[1]!;
  const len = lenByte & 0x7f;
  if ((lenByte & 0x80) === 0) return Number(p.subarray(2, 2 + len).toString('latin1'));
  return huffmanDigits(p.subarray(2, 2 + len));
}

/** Decodes a Huffman-coded string of digits only (codes 0-2: 5 bits, 3-9: 6 bits). */
function huffmanDigits(b: Buffer): number | undefined {
  const FIVE: Record<number, string> = { 0b00000: '0', 0b00001: '1', 0b00010: '2' };
  const SIX: Record<number, string> = { 0b011001: '3', 0b011010: '4', 0b011011: '5', 0b011100: '6', 0b011101: '7', 0b011110: '8', 0b011111: '9' };
  let bits = '';
  for (const byte of b) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  while (out.length < 3 && i + 5 <= bits.length) {
    const five = parseInt(bits.slice(i, i + 5), 2);
    if (FIVE[five] !== undefined) { out += FIVE[five]; i += 5; continue; }
    const six = parseInt(bits.slice(i, i + 6), 2);
    if (SIX[six] === undefined) return undefined;
    out += SIX[six];
    i += 6;
  }
  return out.length === 3 ? Number(out) : undefined;
}
