/** Messages between the worker supervisor (main thread) and a proxy worker thread. */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ApplyResult, RouteSummary } from '../engine.ts';
import type { ProxyLimits } from '../limits.ts';
import type { ZoneOffer } from '../ratelimit/zones.ts';
import type { TapSubscription } from '../../table/live.ts';
import type { TracingOptions } from '../tracing/index.ts';

/** `workerData` of a worker: plain values only (functions cannot cross threads). */
export interface WorkerInit {
  /** 1..N; also the worker's owner id in shared rate-limit locks. */
  id: number;
  host: string;
  limits: Partial<ProxyLimits> | undefined;
  affinitySecret: string | undefined;
  accessLog: boolean;
  /** Span export; each worker runs its own exporter (the collector URL as text). */
  tracing: (TracingOptions & { collector: string }) | undefined;
  logName: string;
  logLevel: string;
  /** The worker's `maxOldGenerationSizeMb`, when the container has a memory limit. */
  heapMb?: number | undefined;
}

export type ToWorker =
  | { type: 'apply'; seq: number; table: unknown; zones: ZoneOffer }
  /** A delta on top of the table the worker serves (the supervisor checked it against its own copy). */
  | { type: 'delta'; seq: number; delta: unknown; zones: ZoneOffer }
  | { type: 'metrics'; seq: number }
  /** Live stats and tap: install these subscriptions, answer a LiveSample. */
  | { type: 'live'; seq: number; taps: TapSubscription[] }
  | { type: 'close'; seq: number }
  /** Test hook: the worker throws an uncaught error, as a crash would. */
  | { type: 'crash' }
  /** Test hook: the worker blocks its event loop for `ms`, as a stuck worker would. */
  | { type: 'stall'; ms: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reply'; seq: number; ok: true; value: unknown }
  | { type: 'reply'; seq: number; ok: false; error: string };

export interface ApplyReply {
  result: ApplyResult;
  routes: RouteSummary[];
}

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];
