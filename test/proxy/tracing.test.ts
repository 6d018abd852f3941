/**
 * OTLP span export through a real engine: a local OTLP/HTTP receiver on loopback decodes every
 * request it gets (JSON encoding) and the tests check span fields, parents, the propagated
 * traceparent, head sampling over a bounded count, and dropping under pressure.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isHostmeshError } from '../../src/common/errors.ts';
import { parseCommandLine } from '../../src/cli/args.ts';
import { collectorUrl, Tracer } from '../../src/proxy/tracing/index.ts';
import type { TracingOptions } from '../../src/proxy/tracing/index.ts';
import { attrs, receiver } from '../support/otlp-receiver.ts';
import { until } from '../support/until.ts';
import { client, engine, freePort, get, httpBackend, metricValue, svc, table, LOOPBACK } from './helpers.ts';

/** A deterministic trace id per index (so the sampled count is known exactly). */
const traceId = (i: number): string => createHash('sha256').update(`trace ${i}`).digest('hex').slice(0, 32);
const parentId = (i: number): string => createHash('sha256').update(`parent ${i}`).digest('hex').slice(0, 16);

/** A backend that records the traceparent of each request, answering `status(path)`. */
function tracedBackend(t: TestContext, status: (path: string) => number = () => 200) {
  const seen: string[] = [];
  return httpBackend(t, (req, res) => {
    seen.push(String(req.headers.traceparent));
    res.statusCode = status(req.url ?? '/');
    res.end('ok');
  }).then((b) => ({ ...b, traceparents: seen }));
}

async function tracedEngine(t: TestContext, ports: number[], tracing: Omit<TracingOptions, 'collector'> & { collector: string }, route = {}) {
  const port = await freePort();
  const e = engine(t, { tracing: { delayMs: 20, ...tracing }, limits: { retryBackoffBaseMs: 1, retryBackoffMaxMs: 5 } });
  const r = await e.apply(table([{ cluster: svc('web', ports, { loadBalancer: { kind: 'round-robin' }, passiveHealth: { maxFails: 0, failDurationMs: 10_000 } }), listenPort: port, route }]));
  assert.equal(r.ok, true, JSON.stringify(r));
  return { e, url: `http://${LOOPBACK}:${port}` };
}

test('one server span per sampled request: route, backend, endpoint, status, retries, the caller as parent', async (t) => {
  const rx = await receiver(t);
  const good = await tracedBackend(t, (path) => (path === '/teapot' ? 418 : path === '/boom' ? 500 : 200));
  const bad = await tracedBackend(t, () => 503);
  const { e, url } = await tracedEngine(t, [bad.port, good.port], { collector: rx.url, sampling: 1, node: 'node-a', version: '9.9.9' }, {
    retry: { count: 2, on: 'true', codes: [[503, 503]] },
  });
  const c = client(t);
  for (let i = 0; i < 4; i++) {
    const r = await get(c, `${url}/item/${i}?q=1`, { method: 'GET', headers: { traceparent: `00-${traceId(i)}-${parentId(i)}-01` } });
    assert.equal(r.status, 200);
  }
  assert.equal((await get(c, `${url}/teapot`)).status, 418);
  assert.equal((await get(c, `${url}/boom`, { method: 'POST', body: 'x' })).status, 500);
  // The caller decided not to record: no span, and its header travels on unchanged.
  const unsampled = `00-${traceId(99)}-${parentId(99)}-00`;
  assert.equal((await get(c, `${url}/quiet`, { method: 'GET', headers: { traceparent: unsampled } })).status, 200);

  await until('six spans', () => rx.spans.length >= 6);
  assert.equal(rx.spans.length, 6);
  assert.deepEqual(rx.resources[0], { 'service.name': 'hostmesh-proxy', 'service.version': '9.9.9', 'host.name': 'node-a' });
  const all = [...good.traceparents, ...bad.traceparents];
  assert.ok(all.includes(unsampled), 'an unsampled caller\'s traceparent passes unchanged');

  for (let i = 0; i < 4; i++) {
    const s = rx.spans.find((x) => x.traceId === traceId(i));
    assert.ok(s, `span of request ${i}`);
    assert.equal(s.parentSpanId, parentId(i));
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(s.spanId, parentId(i));
    assert.equal(s.kind, 2, 'SPAN_KIND_SERVER');
    assert.equal(s.name, 'GET test/web:80');
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
    assert.ok(BigInt(s.startTimeUnixNano) > 1_700_000_000_000_000_000n);
    const a = attrs(s);
    // The backend's parent is this proxy's span, on the caller's trace.
    const sent = `00-${traceId(i)}-${s.spanId}-01`;
    const badTries = bad.traceparents.filter((p) => p === sent).length;
    assert.equal(good.traceparents.filter((p) => p === sent).length, 1);
    assert.deepEqual(a, {
      'http.request.method': 'GET',
      'url.path': `/item/${i}`,
      'http.response.status_code': '200',
      'hostmesh.route': 'test/web:80',
      'client.address': '127.0.0.1',
      'hostmesh.retries': String(badTries),
      'hostmesh.backend': 'test/web:80',
      'hostmesh.endpoint': `127.0.0.1:${good.port}`,
    });
    assert.deepEqual(s.status, {});
  }
  assert.ok(rx.spans.some((s) => attrs(s)['hostmesh.retries'] === '1'), 'a retried request says so');
  const roots = rx.spans.filter((s) => s.parentSpanId === undefined);
  assert.equal(roots.length, 2, 'requests without a traceparent start a trace');
  const boom = roots.find((s) => attrs(s)['url.path'] === '/boom')!;
  assert.equal(attrs(boom)['http.response.status_code'], '500');
  assert.equal(boom.status.code, 2, 'a 5xx is an error');
  assert.equal(boom.name, 'POST test/web:80');
  assert.deepEqual(roots.find((s) => attrs(s)['url.path'] === '/teapot')!.status, {}, 'a 4xx is not a server error');
  assert.ok(good.traceparents.includes(`00-${boom.traceId}-${boom.spanId}-01`));
  await until('the exporter to hear the collector accepted them', async () => await metricValue(e, /^hostmesh_trace_spans_exported_total /) === 6);
  assert.equal(await metricValue(e, /^hostmesh_trace_spans_dropped_total\{reason="queue-full"\} /), 0);
});

test('head sampling keeps the ratio by trace id, alike for callers\' traces and new ones', async (t) => {
  const rx = await receiver(t);
  const b = await tracedBackend(t);
  const ratio = 0.25;
  const { url } = await tracedEngine(t, [b.port], { collector: rx.url, sampling: ratio, batchSize: 50, delayMs: 200 });
  const c = client(t, { connections: 8 });
  const n = 200;
  const ids = Array.from({ length: n }, (_, i) => traceId(i));
  const decider = new Tracer(ratio, { add() {} });
  const expected = ids.filter((id) => decider.samples(id));
  // A sanity bound on the fixed ids: near a quarter of 200.
  assert.ok(expected.length > 25 && expected.length < 75, `${expected.length} of ${n}`);
  for (let i = 0; i < n; i += 20) {
    await Promise.all(ids.slice(i, i + 20).map((id, k) => get(c, `${url}/`, { method: 'GET', headers: { traceparent: `00-${id}-${parentId(i + k)}-01` } })));
  }
  // New traces: sampled ones go on flagged 01 with the span as parent, the others flagged 00.
  const roots = 100;
  for (let i = 0; i < roots; i += 20) await Promise.all(Array.from({ length: 20 }, () => get(c, `${url}/new`)));
  const sampledRoots = b.traceparents.slice(n).filter((p) => p.endsWith('-01'));
  assert.equal(b.traceparents.slice(n).filter((p) => p.endsWith('-00')).length, roots - sampledRoots.length);
  for (const p of b.traceparents.slice(n)) assert.equal(decider.samples(p.slice(3, 35)), p.endsWith('-01'), p);

  await until('every sampled span', () => rx.spans.length >= expected.length + sampledRoots.length);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(rx.spans.length, expected.length + sampledRoots.length);
  assert.deepEqual(rx.spans.filter((s) => s.parentSpanId !== undefined).map((s) => s.traceId).toSorted(), expected.toSorted());
  assert.deepEqual(rx.spans.filter((s) => s.parentSpanId === undefined).map((s) => `00-${s.traceId}-${s.spanId}-01`).toSorted(), sampledRoots.toSorted());
  assert.ok(Math.max(...rx.batches) > 1, 'spans are sent in batches');
  assert.ok(Math.max(...rx.batches) <= 50, 'of at most the batch size');
});

test('a collector that does not answer costs dropped spans, never a request', async (t) => {
  const rx = await receiver(t, { hold: true });
  const b = await tracedBackend(t);
  const { e, url } = await tracedEngine(t, [b.port], { collector: rx.url, sampling: 1, maxQueue: 10, batchSize: 5 });
  const c = client(t, { connections: 4 });
  const n = 60;
  for (let i = 0; i < n; i += 10) {
    const replies = await Promise.all(Array.from({ length: 10 }, () => get(c, `${url}/`)));
    assert.deepEqual(replies.map((r) => r.status), Array(10).fill(200));
  }
  await until('the first batch to be in flight', () => rx.requests === 1);
  // One batch (of at most 5) is in flight, 10 wait in the queue, the rest were dropped.
  assert.ok(rx.spans.length >= 1 && rx.spans.length <= 5);
  assert.equal(await metricValue(e, /^hostmesh_trace_spans_dropped_total\{reason="queue-full"\} /), n - rx.spans.length - 10);
  assert.equal(await metricValue(e, /^hostmesh_trace_spans_exported_total /), 0);
});

test('an unreachable collector: failed batches are counted', async (t) => {
  const b = await tracedBackend(t);
  const dead = await freePort();
  const { e, url } = await tracedEngine(t, [b.port], { collector: `http://${LOOPBACK}:${dead}`, sampling: 1 });
  const c = client(t);
  for (let i = 0; i < 3; i++) assert.equal((await get(c, `${url}/`)).status, 200);
  await until('the failed export to be counted', async () => await metricValue(e, /^hostmesh_trace_spans_dropped_total\{reason="export-failed"\} /) === 3);
});

test('collector URLs and sampling ratios are checked, naming the value', () => {
  assert.equal(collectorUrl('http://otel:4318').href, 'http://otel:4318/v1/traces');
  assert.equal(collectorUrl('https://otel/custom/traces').href, 'https://otel/custom/traces');
  for (const bad of ['otel:4318', 'ftp://otel', 'not a url']) {
    assert.throws(() => collectorUrl(bad), (e: unknown) => isHostmeshError(e) && e.code === 'TRACING_INVALID' && e.message.includes(bad.split(':')[0]!));
  }
  const sampling = (v?: string) => parseCommandLine(['proxy', '--controller', 'http://c:8440', '--node', 'n', '--token-file', 't', '--state-dir', 's', ...(v === undefined ? [] : [`--trace-sampling=${v}`])]).flags['trace-sampling'];
  assert.equal(sampling(), 0.01);
  assert.equal(sampling('1'), 1);
  assert.equal(sampling('0.25'), 0.25);
  for (const bad of ['1.5', '-0.1', 'half']) {
    assert.throws(() => sampling(bad), (e: unknown) => isHostmeshError(e) && e.code === 'CLI_USAGE' && e.message.includes(`--trace-sampling: "${bad}"`));
  }
  const t0 = new Tracer(0, { add() {} });
  const t1 = new Tracer(1, { add() {} });
  assert.equal(t0.samples('f'.repeat(32)), false);
  assert.equal(t1.samples('f'.repeat(32)), true);
  assert.equal(t1.samples('0'.repeat(31) + '1'), true);
});
