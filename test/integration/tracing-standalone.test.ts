/**
 * Span export through `hostmesh standalone` with worker threads: each worker exports its own
 * spans to the collector, and one scrape of the admin server sums their counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { parseHead, rawExchange } from '../proxy/helpers.ts';
import { attrs, receiver } from '../support/otlp-receiver.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { until } from '../support/until.ts';

async function metric(admin: string, re: RegExp): Promise<number | undefined> {
  const line = (await (await fetch(`${admin}/metrics`)).text()).split('\n').find((l) => re.test(l));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('standalone with 2 workers and --trace-sampling 1: one span per request, counters summed', async (t) => {
  const rx = await receiver(t);
  const web = await startDemoBackend({ name: 'web', version: 'v1' });
  t.after(() => web.close());
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [web.port] }) }, {
    workers: 2,
    limits: { drainTimeoutMs: 1000 },
    tracing: { collector: rx.url, sampling: 1, node: 'standalone', delayMs: 20 },
  });
  const port = mesh.port('test/web:80');
  const n = 40;
  for (let i = 0; i < n; i++) {
    // One connection per request: the kernel spreads them over both workers.
    const r = parseHead(await rawExchange(port, `GET /p${i} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
    assert.equal(r.status, 200);
  }
  await until('every span', () => rx.spans.length >= n);
  assert.equal(rx.spans.length, n);
  assert.deepEqual(rx.spans.map((s) => attrs(s)['url.path']).toSorted(), Array.from({ length: n }, (_, i) => `/p${i}`).toSorted());
  assert.ok(rx.spans.every((s) => attrs(s)['hostmesh.route'] === 'test/web:80' && s.parentSpanId === undefined));
  assert.ok(rx.resources.every((r) => r['host.name'] === 'standalone'));
  await until('both workers\' exported counts, summed', async () => await metric(mesh.admin, /^hostmesh_trace_spans_exported_total /) === n);
});
