/**
 * One write straight to a socket's handle, for the hot path's one-write-per-message case: what
 * socket.write() ends up doing (a write request on the handle, tried at once by libuv) without
 * the Writable stream's bookkeeping around it (its queue, its callback and the deferred
 * after-write step per write). Taken only when the stream has nothing queued, is not corked and
 * the handle has no write pending, so bytes go out in the order they were given; anything else
 * goes through socket.write(). A write libuv could not finish at once stays queued on the
 * handle (which an end() waits for before shutting down); the next write then takes the stream
 * path, behind it.
 */
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

interface WriteReq {
  handle: Handle;
  oncomplete: (status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | string | null;
  callback: null;
  socket: Socket | null;
}
interface Handle {
  writeQueueSize: number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}
interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

const binding = ((): StreamWrap | undefined => {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrap> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || b.streamBaseState === undefined || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrap;
  } catch {
    return undefined;
  }
})();

/** The error socket.write() would report for libuv's `errno`. */
function writeError(errno: number): Error {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { code, errno, syscall: 'write' });
}

/** A write that finished later: a failure ends the socket, as one through socket.write() would. */
function completed(this: WriteReq, status: number): void {
  const socket = this.socket;
  this.buffer = null;
  this.socket = null;
  if (status < 0 && socket !== null && !socket.destroyed) {
    socket.destroy(writeError(status));
  }
}

/** Writes `data` (a string is written as latin1) to `socket`; false when it must go through socket.write(). */
export function directWrite(socket: Socket, data: Buffer | string): boolean {
  if (binding === undefined || socket.writableLength !== 0 || socket.writableCorked !== 0 || socket.connecting || !socket.writable) return false;
  // oxlint-disable-next-line no-underscore-dangle -- net.Socket's own handle, written on purpose
  const handle = (socket as unknown as { _handle: Handle | null })._handle;
  if (handle === null || handle.writeQueueSize !== 0) return false;
  const req = new binding.WriteWrap();
  req.handle = handle;
  req.oncomplete = completed;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  req.callback = null;
  req.socket = null;
  const err = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
  if (err !== 0) {
    socket.destroy(writeError(err));
    return true;
  }
  if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
    // libuv holds the rest: keep the bytes (and who to tell) alive until it is done.
    req.async = true;
    req.buffer = data;
    req.socket = socket;
  }
  return true;
}
