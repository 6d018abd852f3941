/**
 * One proxy's watch response. A proxy that reads slowly must not make the controller buffer a
 * table per version: while the socket has not drained the last write, only the newest snapshot
 * is kept, and intermediate versions are skipped (each snapshot is complete, so the proxy loses
 * nothing). Lines are shared Buffers, serialized once per version for all streams.
 */
import type { ServerResponse } from 'node:http';

export class WatchStream {
  readonly node: string;
  readonly #res: ServerResponse;
  readonly #onSkip: () => void;
  #pending: Buffer | undefined;
  #congested = false;
  /** Snapshots written to the socket, and snapshots replaced before they could be written. */
  sent = 0;
  skipped = 0;

  constructor(node: string, res: ServerResponse, onSkip: () => void) {
    this.node = node;
    this.#res = res;
    this.#onSkip = onSkip;
  }

  /** Bytes accepted by the response but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#res.writableLength;
  }

  snapshot(line: Buffer): void {
    if (this.#res.destroyed) return;
    if (this.#congested) {
      if (this.#pending !== undefined) {
        this.skipped++;
        this.#onSkip();
      }
      this.#pending = line;
      return;
    }
    this.sent++;
    this.#write(line);
  }

  /** Heartbeats only prove liveness; a congested stream is already busy, so they are dropped. */
  heartbeat(line: Buffer): void {
    if (!this.#congested && !this.#res.destroyed) this.#write(line);
  }

  end(): void {
    this.#pending = undefined;
    this.#res.end();
  }

  #write(line: Buffer): void {
    if (!this.#res.write(line)) {
      this.#congested = true;
      this.#res.once('drain', this.#onDrain);
    }
  }

  readonly #onDrain = (): void => {
    this.#congested = false;
    const line = this.#pending;
    if (line === undefined) return;
    this.#pending = undefined;
    this.sent++;
    this.#write(line);
  };
}
