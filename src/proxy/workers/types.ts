/**
 * What the CLI and the admin server use of a proxy, whether it runs in this thread (a
 * ProxyEngine, workers = 1) or as a pool of worker threads (WorkerPool).
 */
import type { AdminSource } from '../admin.ts';
import type { ApplyResult } from '../engine.ts';
import type { LiveSource } from '../live/counts.ts';

export interface ProxyHost extends AdminSource, LiveSource {
  /** Applies a routing table (untrusted input); never throws. Applies run one at a time. */
  apply(table: unknown): Promise<ApplyResult>;
  /** Applies a delta (untrusted input) on top of the table served; refused with DELTA_GAP when it does not follow it. */
  applyDelta(delta: unknown): Promise<ApplyResult>;
  /** Drains every listener and stops every worker. */
  close(): Promise<void>;
}
