/**
 * One proxy's watch response. Each new version goes out as a delta when the stream is at its
 * base. A proxy that reads slowly must not make the controller buffer a message per version:
 * while the socket has not drained the last write nothing more is written, and once it drains
 * the stream catches up in one step (the deltas it missed, or a snapshot when they are gone or
 * larger), so the memory a slow proxy holds is bounded by one catch-up, not by the versions it
 * missed. Lines are shared Buffers, serialized once per version for all streams, each line in
 * pieces of at most 96 KiB (common/text-pieces.ts: a snapshot at 10,000 Services is 14 MB).
 */
import type { ServerResponse } from 'node:http';

/** One line of the stream: the Buffers written for it, in order. */
export type Line = readonly Buffer[];

/** Bytes of a line. */
export function lineBytes(line: Line): number {
  let n = 0;
  for (const piece of line) n += piece.length;
  return n;
}

/** What a stream writes to catch up from `version` (undefined: it has nothing) to the current version. */
export type CatchUp = (version: number | undefined) => { lines: Line[]; version: number; snapshot: boolean } | undefined;

export interface WatchStreamHooks {
  catchUp: CatchUp;
  /** A version not written on its own because the stream was congested. */
  onSkip: () => void;
  onSent: (kind: 'snapshot' | 'delta', bytes: number) => void;
}

export class WatchStream {
  readonly node: string;
  readonly #res: ServerResponse;
  readonly #hooks: WatchStreamHooks;
  #congested = false;
  /** A version was published while congested: catch up on drain. */
  #behind = false;
  /** The last version written to this stream (in the publisher's epoch). */
  version: number | undefined;
  /** Versions written (as a snapshot or a delta), and versions folded into a later catch-up. */
  sent = 0;
  skipped = 0;
  snapshots = 0;
  bytes = 0;

  constructor(node: string, res: ServerResponse, hooks: WatchStreamHooks) {
    this.node = node;
    this.#res = res;
    this.#hooks = hooks;
  }

  /** Bytes accepted by the response but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#res.writableLength;
  }

  get congested(): boolean {
    return this.#congested;
  }

  /** A new version was published: its delta goes out if this stream is at its base. */
  publish(base: number | undefined, line: Line | undefined): void {
    if (this.#res.destroyed) return;
    if (this.#congested) {
      this.skipped++;
      this.#hooks.onSkip();
      this.#behind = true;
      return;
    }
    if (line !== undefined && base !== undefined && this.version === base) {
      this.version = base + 1;
      this.sent++;
      this.#write(line, 'delta');
      return;
    }
    this.catchUp();
  }

  /** Brings the stream to the current version (the deltas since its version, or a snapshot). */
  catchUp(): void {
    if (this.#res.destroyed) return;
    const step = this.#hooks.catchUp(this.version);
    if (step === undefined) return;
    this.version = step.version;
    this.sent++;
    if (step.snapshot) this.snapshots++;
    for (const line of step.lines) this.#write(line, step.snapshot ? 'snapshot' : 'delta');
  }

  /** Heartbeats only prove liveness; a congested stream is already busy, so they are dropped. */
  heartbeat(line: Buffer): void {
    if (!this.#congested && !this.#res.destroyed) this.#res.write(line);
  }

  end(): void {
    this.#res.end();
  }

  #write(line: Line, kind: 'snapshot' | 'delta'): void {
    const bytes = lineBytes(line);
    this.bytes += bytes;
    this.#hooks.onSent(kind, bytes);
    let drained = true;
    for (const piece of line) drained = this.#res.write(piece);
    if (!drained && !this.#congested) {
      this.#congested = true;
      this.#res.once('drain', this.#onDrain);
    }
  }

  readonly #onDrain = (): void => {
    this.#congested = false;
    if (!this.#behind) return;
    this.#behind = false;
    this.catchUp();
  };
}
