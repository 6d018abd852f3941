/**
 * Optional tracing: one OTLP server span per sampled HTTP request (see span.ts for sampling and
 * parents, exporter.ts for batching and back-pressure). Off unless a collector URL is given.
 */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { HostmeshError } from '../../common/errors.ts';
import { SpanExporter } from './exporter.ts';
import { Tracer } from './span.ts';

export { SpanExporter } from './exporter.ts';
export { ServerSpan, Tracer } from './span.ts';

export interface TracingOptions {
  /** The collector: an OTLP/HTTP traces URL; a URL without a path gets `/v1/traces`. */
  collector: string | URL;
  /** Head sampling ratio, 0 to 1. */
  sampling: number;
  /** This proxy's node, reported as the resource's `host.name`. */
  node?: string | undefined;
  /** hostmesh's version, reported as `service.version`. */
  version?: string | undefined;
  /** Exporter bounds (spans queued, spans per request, longest wait for a batch); defaults 2048, 512, 1000 ms. */
  maxQueue?: number;
  batchSize?: number;
  delayMs?: number;
}

/** The traces endpoint for a collector URL; throws `TRACING_INVALID` naming the value. */
export function collectorUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HostmeshError('TRACING_INVALID', `trace collector: "${String(value)}" is not a URL (e.g. http://otel-collector:4318)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HostmeshError('TRACING_INVALID', `trace collector: "${url.href}" must be an http or https URL (OTLP/HTTP)`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url;
}

export interface Tracing {
  readonly tracer: Tracer;
  readonly exporter: SpanExporter;
}

/** Validates the options, starts the exporter and registers its counters in `registry`. */
export function startTracing(opts: TracingOptions, registry: Registry, onProblem: (message: string) => void): Tracing {
  if (!(opts.sampling >= 0 && opts.sampling <= 1)) throw new HostmeshError('TRACING_INVALID', `trace sampling: ${opts.sampling} is not a ratio from 0 to 1`);
  const exporter = new SpanExporter({
    url: collectorUrl(opts.collector),
    resource: { serviceName: 'hostmesh-proxy', node: opts.node, version: opts.version ?? 'unknown' },
    ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(opts.delayMs !== undefined ? { delayMs: opts.delayMs } : {}),
    onProblem,
  });
  registry.registerMetric(new Counter({
    name: 'hostmesh_trace_spans_exported_total',
    help: 'Spans the trace collector accepted.',
    registers: [],
    collect() {
      this.reset();
      this.inc(exporter.exported);
    },
  }));
  registry.registerMetric(new Counter({
    name: 'hostmesh_trace_spans_dropped_total',
    help: 'Spans of sampled requests not exported, by reason: queue-full (the collector does not keep up) or export-failed (refused or unreachable).',
    labelNames: ['reason'],
    registers: [],
    collect() {
      this.reset();
      this.inc({ reason: 'queue-full' }, exporter.droppedQueueFull);
      this.inc({ reason: 'export-failed' }, exporter.droppedExportFailed);
    },
  }));
  return { tracer: new Tracer(opts.sampling, exporter), exporter };
}
