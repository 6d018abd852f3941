/** SPAN_KIND_SERVER: the proxy receives the request it reports. */
const KIND_SERVER = 2;
/** STATUS_CODE_ERROR; server spans leave 4xx unset (the client's error, not the server's). */
const STATUS_ERROR = 2;
const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: String(v) } });
/** Unix nanoseconds as a decimal string, from milliseconds with a fraction (microsecond precision). */
export function unixNanos(ms) {
    return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}
function spanJson(s) {
    const attributes = [
        str('http.request.method', s.method),
        str('url.path', s.path),
        int('http.response.status_code', s.status),
        str('hostmesh.route', s.route),
        str('client.address', s.client),
        int('hostmesh.retries', s.retries),
    ];
    if (s.backend !== undefined)
        attributes.push(str('hostmesh.backend', s.backend));
    if (s.endpoint !== undefined)
        attributes.push(str('hostmesh.endpoint', s.endpoint));
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
/** The request body for a batch of spans. */
export function encodeSpans(resource, spans) {
    const attributes = [str('service.name', resource.serviceName), str('service.version', resource.version)];
    if (resource.node !== undefined)
        attributes.push(str('host.name', resource.node));
    return JSON.stringify({
        resourceSpans: [{
                resource: { attributes },
                scopeSpans: [{ scope: { name: 'hostmesh', version: resource.version }, spans: spans.map(spanJson) }],
            }],
    });
}
