/**
 * The distribution protocol between the controller and the proxies (DESIGN.md, "Distribution").
 * Both ends import these types; the wire format is JSON.
 *
 *   GET  /v1/watch?node=<node>&since=<epoch>:<version>   (Authorization: Bearer <token>)
 *        200 application/x-ndjson, one WatchMessage per line:
 *        - at once: nothing when `since` names the controller's current epoch and version; the
 *          `delta`s from there when `since` is a recent version of the current epoch; else a
 *          `snapshot` (a proxy that has nothing or is too far behind; one that saw a gap omits `since`),
 *        - then a `delta` for every new version (coalesced: a burst of cluster events makes one
 *          version); a stream too slow to take them one by one catches up once it drains, with
 *          the deltas it missed or a snapshot (docs/distribution.md),
 *        - `heartbeat` lines in between (every `heartbeatMs`), so both ends notice a dead stream.
 *   POST /v1/ack  AckReport -> 204: what the proxy did with a snapshot.
 *   GET  /v1/status -> ControllerStatus (token required).
 *   GET  /healthz, /readyz, /metrics (no token).
 */
import type { RoutingTable } from './types.ts';
import type { TableDelta } from './delta.ts';

export const WATCH_PATH = '/v1/watch';
export const ACK_PATH = '/v1/ack';
export const STATUS_PATH = '/v1/status';
export const NDJSON = 'application/x-ndjson';

export type WatchMessage =
  | { type: 'snapshot'; table: RoutingTable }
  | { type: 'delta'; delta: TableDelta }
  | { type: 'heartbeat'; epoch: string; version: number; time: string };

export interface AckReport {
  node: string;
  epoch: string;
  version: number;
  /** tableDigest() of the table the proxy now serves. */
  digest: string;
  /** false when the proxy refused the snapshot or delta and kept serving its previous table. */
  applied: boolean;
  /** Why the snapshot was refused (validation problems, a port that could not be opened...). */
  error?: string;
  /** RFC 3339 time of the apply or refusal on the proxy. */
  time: string;
}

export interface ProxyStatus {
  node: string;
  /** A watch stream from this proxy is open now. */
  connected: boolean;
  /** Last version the proxy reported applied (in `appliedEpoch`), if any. */
  appliedEpoch?: string;
  appliedVersion?: number;
  /** Current version minus applied version (0 when up to date; absent when never applied). */
  lagVersions?: number;
  /** Milliseconds since the oldest version this proxy has not applied was published (0 when up to date). */
  lagMs: number;
  /** Last refusal reported by the proxy, if its latest ack was a refusal. */
  error?: string;
  lastSeen: string;
}

export interface StatusDiagnostic {
  severity: 'info' | 'warning' | 'error';
  code: string;
  object: { kind: string; namespace?: string; name: string };
  key?: string;
  value?: string;
  message: string;
}

export interface ControllerStatus {
  epoch: string;
  version: number;
  digest: string;
  generatedAt: string;
  proxies: ProxyStatus[];
  diagnostics: StatusDiagnostic[];
}

/** `since` query value. */
export function formatSince(epoch: string, version: number): string {
  return `${epoch}:${version}`;
}

export function parseSince(value: string | null | undefined): { epoch: string; version: number } | undefined {
  if (!value) return undefined;
  const i = value.lastIndexOf(':');
  if (i <= 0) return undefined;
  const version = Number(value.slice(i + 1));
  if (!Number.isSafeInteger(version) || version < 0) return undefined;
  return { epoch: value.slice(0, i), version };
}
