/**
 * The Flagger MetricTemplates of examples/flagger/, rendered as Flagger renders them and
 * evaluated by a real Prometheus (started here on 127.0.0.1) scraping a standalone mesh: a
 * primary that always answers, and a canary that answers every 10th request with a 500 and
 * every request after 60 ms. The success-rate query must return the canary's success rate as its
 * backend counted it, exactly; the latency query a p99 in the 60 ms bucket's range.
 *
 * The query window is set from two scrape timestamps (one after a warm-up that creates every
 * series, one after the measured traffic), so the window starts and ends on samples and
 * Prometheus' rate() needs no extrapolation: the ratio is the ratio of the counters' increases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Agent } from 'undici';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { scrapedAfter, startPrometheus } from '../support/prometheus.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { until } from '../support/until.ts';
import { skipPrometheus } from '../observability/tools.ts';
import { metricTemplates, renderQuery } from './flagger-support.ts';

const templates = new URL('../../examples/flagger/metric-templates.yaml', import.meta.url).pathname;

async function traffic(agent: Agent, url: string, n: number, parallel: number): Promise<void> {
  for (let sent = 0; sent < n; sent += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, n - sent) }, () => get(agent, url)));
  }
}

test('the MetricTemplates render as Flagger renders them, the example Canary names them; unknown template functions fail', () => {
  const all = metricTemplates(templates);
  assert.deepEqual([...all.keys()].toSorted(), ['hostmesh-request-duration', 'hostmesh-request-success-rate']);
  for (const t of all.values()) {
    assert.equal(t.apiVersion, 'flagger.app/v1beta1');
    assert.equal(t.spec.provider.type, 'prometheus');
    const q = renderQuery(t.spec.query, { name: 'podinfo', namespace: 'test', target: 'podinfo', service: '', ingress: '', interval: '1m' });
    assert.doesNotMatch(q, /\{\{|\}\}/);
    assert.match(q, /destination_namespace="test"/);
    assert.match(q, /backend="podinfo-canary"/);
    assert.match(q, /\[1m\]/);
  }
  const canary = parse(readFileSync(new URL('../../examples/flagger/canary.yaml', import.meta.url), 'utf8')) as { spec: { provider: string; analysis: { metrics: { templateRef: { name: string } }[] } } };
  assert.equal(canary.spec.provider, 'gatewayapi:v1');
  for (const m of canary.spec.analysis.metrics) assert.ok(all.has(m.templateRef.name), `canary.yaml names ${m.templateRef.name}`);
  assert.throws(() => renderQuery('x{a="{{ canary }}"}', { name: '', namespace: '', target: '', service: '', ingress: '', interval: '' }), /function "canary" not defined/);
});

test('real Prometheus evaluates the success-rate and latency MetricTemplates over a standalone mesh', { skip: skipPrometheus, timeout: 120_000 }, async (t) => {
  const canary = { total: 0, failed: 0 };
  const primary = await httpBackend(t, (req, res) => {
    req.resume();
    res.end('primary');
  });
  const canaryBackend = await httpBackend(t, (req, res) => {
    req.resume();
    const n = ++canary.total;
    setTimeout(() => {
      if (n % 10 === 0) {
        canary.failed++;
        res.statusCode = 500;
      }
      res.end('canary');
    }, 60);
  });
  // The apex Service splits by weight, as Flagger's router leaves it mid-analysis.
  const mesh = await withStandalone(t, {
    'podinfo.yaml': service('podinfo', { annotations: { 'hostmesh.io/traffic-split-weights': 'podinfo-primary=50,podinfo-canary=50' } }),
    'primary.yaml': service('podinfo-primary', { ports: [primary.port] }),
    'canary.yaml': service('podinfo-canary', { ports: [canaryBackend.port] }),
  });
  const query = await startPrometheus(t, mesh.admin.slice('http://'.length));
  await until('a first scrape', async () => (await query('up{job="hostmesh"} == 1')).length === 1, 30_000);

  const agent = client(t);
  const url = `${mesh.url('test/podinfo:80')}/`;
  // Warm-up: every series (primary 200, canary 200 and 500, the buckets) exists before the window.
  await traffic(agent, url, 100, 10);
  const start = await scrapedAfter(query, 'a scrape after the warm-up');
  const before = { ...canary };
  await traffic(agent, url, 400, 20);
  const end = await scrapedAfter(query, 'a scrape after the measured traffic');
  const total = canary.total - before.total;
  const failed = canary.failed - before.failed;
  assert.ok(total >= 150 && failed >= 15, `the canary took its share: ${total} requests, ${failed} failed`);

  const startMs = Math.round(start * 1000);
  const endMs = Math.round(end * 1000);
  const model = { name: 'podinfo', namespace: 'test', target: 'podinfo', service: '', ingress: '', interval: `${endMs - startMs}ms` };
  const all = metricTemplates(templates);
  const evaluate = async (name: string): Promise<number> => {
    const q = renderQuery(all.get(name)!.spec.query, model);
    const result = await query(q, endMs / 1000);
    assert.equal(result.length, 1, `${name}: one value (Flagger refuses none or several): ${JSON.stringify(result)}`);
    return Number(result[0]!.value[1]);
  };

  const expected = (100 * (total - failed)) / total;
  const successRate = await evaluate('hostmesh-request-success-rate');
  assert.ok(Math.abs(successRate - expected) < 1e-6, `success rate ${successRate}, the canary's backend counted ${expected} (${total - failed}/${total})`);

  const p99 = await evaluate('hostmesh-request-duration');
  // Every canary request takes at least 60 ms: the p99 is in the 50-100 ms bucket or above it.
  assert.ok(p99 > 50 && p99 <= 1000, `p99 ${p99} ms`);
});
