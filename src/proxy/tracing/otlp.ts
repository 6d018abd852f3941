/**
 * OTLP/HTTP JSON encoding of the proxy's spans (opentelemetry-proto's `ExportTraceServiceRequest`
 * in its JSON mapping: ids as lower-case hex, 64-bit integers as decimal strings, enums as numbers).
 * Done when a batch is sent, never per request.
 */
import type { ServerSpan } from './span.ts';

/** SPAN_KIND_SERVER: the proxy receives the request it reports. */
const KIND_SERVER = 2;
/** STATUS_CODE_ERROR; server spans leave 4xx unset (the client's error, not the server's). */
const STATUS_ERROR = 2;

type AnyValue = { stringValue: string } | { intValue: string };
interface KeyValue { key: string; value: AnyValue }

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });

/** Unix nanoseconds as a decimal string, from milliseconds with a fraction (microsecond precision). */
export function unixNanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

function spanJson(s: ServerSpan): Record<string, unknown> {
  const attributes: KeyValue[] = [
    str('http.request.method', s.method),
    str('url.path', s.path),
    int('http.response.status_code', s.status),
    str('hostmesh.route', s.route),
    str('client.address', s.client),
    int('hostmesh.retries', s.retries),
  ];
  if (s.backend !== undefined) attributes.push(str('hostmesh.backend', s.backend));
  if (s.endpoint !== undefined) attributes.push(str('hostmesh.endpoint', s.endpoint));
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentId !== undefined ? { parentSpanId: s.parentId } : {}),
    name: `${s.method} ${s.route}`,
    kind: KIND_SERVER,
    startTimeUnixNano: unixNanos(s.startMs),
    endTimeUnixNano: unixNanos(s.endMs),
    attributes,
    status: s.status >= 500 ? { code: STATUS_ERROR, message: `HTTP ${s.status}` } : {},
  };
}

/** Resource attributes that say which proxy sent the spans. */
export interface SpanResource {
  readonly serviceName: string;
  readonly node?: string | undefined;
  readonly version: string;
}

/** The request body for a batch of spans. */
export function encodeSpans(resource: SpanResource, spans: readonly ServerSpan[]): string {
  const attributes = [str('service.name', resource.serviceName), str('service.version', resource.version)];
  if (resource.node !== undefined) attributes.push(str('host.name', resource.node));
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes },
      scopeSpans: [{ scope: { name: 'hostmesh', version: resource.version }, spans: spans.map(spanJson) }],
    }],
  });
}
