/**
 * Optional tracing: one OTLP server span per sampled HTTP request (see span.ts for sampling and
 * parents, exporter.ts for batching and back-pressure). Off unless a collector URL is given.
 */
import { Counter } from 'prom-client';
import { HostmeshError } from '../../common/errors.js';
import { SpanExporter } from './exporter.js';
import { Tracer } from './span.js';
export { SpanExporter } from './exporter.js';
export { ServerSpan, Tracer } from './span.js';
/** The traces endpoint for a collector URL; throws `TRACING_INVALID` naming the value. */
export function collectorUrl(value) {
    let url;
    try {
        url = new URL(value);
    }
    catch {
        throw new HostmeshError('TRACING_INVALID', `trace collector: "${String(value)}" is not a URL (e.g. http://otel-collector:4318)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new HostmeshError('TRACING_INVALID', `trace collector: "${url.href}" must be an http or https URL (OTLP/HTTP)`);
    }
    if (url.pathname === '/' || url.pathname === '')
        url.pathname = '/v1/traces';
    return url;
}
/** Validates the options, starts the exporter and registers its counters in `registry`. */
export function startTracing(opts, registry, onProblem) {
    if (!(opts.sampling >= 0 && opts.sampling <= 1))
        throw new HostmeshError('TRACING_INVALID', `trace sampling: ${opts.sampling} is not a ratio from 0 to 1`);
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
