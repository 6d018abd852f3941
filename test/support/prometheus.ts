/**
 * A real Prometheus (Debian's `prometheus` package) for a test: started on 127.0.0.1 with a
 * temporary directory, scraping `target` every second, stopped and removed after the test.
 * Returns an instant-query function (optionally at a given time) over its HTTP API.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../proxy/helpers.ts';
import { until } from './until.ts';

export interface Sample { metric: Record<string, string>; value: [number, string] }

/** Instant query; `time` in Unix seconds (Prometheus' evaluation time), now when absent. */
export type Query = (query: string, time?: number) => Promise<Sample[]>;

export async function startPrometheus(t: TestContext, target: string): Promise<Query> {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-prometheus-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    '  - job_name: hostmesh',
    `    static_configs: [{ targets: ["${target}"] }]`,
  ].join('\n'));
  const child = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  await until('prometheus to be ready', async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    return (await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200;
  }, 30_000);
  return async (query, time) => {
    const params = new URLSearchParams({ query });
    if (time !== undefined) params.set('time', time.toFixed(3));
    const r = await fetch(`${base}/api/v1/query?${params}`);
    const body = await r.json() as { status: string; error?: string; data: { resultType: string; result: Sample[] } };
    assert.equal(body.status, 'success', `${query}: ${body.error}`);
    assert.equal(body.data.resultType, 'vector', query);
    return body.data.result;
  };
}

/** Waits until Prometheus has scraped `job` at least 1.5 s after now (so what happened before is in). */
export async function scrapedAfter(query: Query, what: string, job = 'hostmesh'): Promise<number> {
  const since = Date.now() / 1000 + 1.5;
  let at = 0;
  await until(what, async () => {
    at = Number((await query(`timestamp(up{job="${job}"})`))[0]?.value[1] ?? 0);
    return at > since;
  }, 30_000);
  return at;
}
