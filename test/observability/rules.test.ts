/**
 * The alerting rules and the Grafana dashboard as files: promtool checks and unit-tests the
 * rules, the chart carries the same files as examples/observability/, and every query names the
 * Service port with the destination_* labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { chartFiles, dashboardTargets, examples, skipPromtool } from './tools.ts';

const rulesFile = join(examples, 'hostmesh-rules.yaml');
const rules = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
const alerts = rules.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(examples, 'hostmesh-dashboard.json'), 'utf8')) as Parameters<typeof dashboardTargets>[0] & { uid: string; templating: { list: { name: string; query: unknown }[] } };

test('promtool check rules: the rule file is valid', { skip: skipPromtool }, () => {
  const r = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
});

test('promtool test rules: every alert fires when it should and stays quiet otherwise', { skip: skipPromtool }, () => {
  const r = spawnSync('promtool', ['test', 'rules', 'hostmesh-rules.test.yaml'], { encoding: 'utf8', cwd: examples });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('the rules cover the issue\'s alerts, each unit-tested', () => {
  const names = alerts.map((a) => a.alert);
  for (const wanted of ['HostmeshHighErrorRate', 'HostmeshHighLatency', 'HostmeshProxyBehind', 'HostmeshConfigProblems', 'HostmeshCircuitBreakerOpen', 'HostmeshRateLimitRefusals']) {
    assert.ok(names.includes(wanted), wanted);
  }
  const tests = readFileSync(join(examples, 'hostmesh-rules.test.yaml'), 'utf8');
  for (const n of names) assert.match(tests, new RegExp(`alertname: ${n}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${n} has a firing case`);
  for (const a of alerts) assert.ok(['warning', 'info', 'critical'].includes(a.labels.severity), a.alert);
});

test('the chart carries the same dashboard and rules as examples/observability', () => {
  for (const f of ['hostmesh-dashboard.json', 'hostmesh-rules.yaml']) {
    assert.equal(readFileSync(join(chartFiles, f), 'utf8'), readFileSync(join(examples, f), 'utf8'), `charts/hostmesh/files/${f} differs from examples/observability/${f}`);
  }
});

test('queries name the Service port by destination_* labels, never the old label names', () => {
  const exprs = [...dashboardTargets(dashboard).map((t) => t.expr), ...alerts.map((a) => a.expr), ...dashboard.templating.list.map((v) => String(v.query === undefined ? '' : JSON.stringify(v.query)))];
  assert.ok(exprs.length > 25);
  for (const e of exprs) {
    // A label name stands after `{`, `,`, `(` or a space; the renamed ones only with their prefix.
    assert.doesNotMatch(e, /[{,(\s](namespace|service|port)\s*(=~|!~|!=|=|[,)])/, e);
  }
  assert.equal(dashboard.uid, 'hostmesh-overview');
});
