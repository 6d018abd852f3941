import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.ts';
import { planWorkers, readContainerLimits } from '../../src/proxy/workers/sizing.ts';
import { createProxyHost, resolveWorkers } from '../../src/proxy/workers/host.ts';
import { WorkerPool } from '../../src/proxy/workers/pool.ts';

function cgroup(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cgroup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), `${text}\n`);
  }
  return dir;
}

const MiB = 1024 * 1024;

test('cgroup v2 and v1 limits are read; "max", -1 and absent files mean no limit', (t) => {
  assert.deepEqual(readContainerLimits(cgroup(t, { 'cpu.max': '150000 100000', 'memory.max': String(384 * MiB) })), { cpus: 1.5, memoryBytes: 384 * MiB });
  assert.deepEqual(readContainerLimits(cgroup(t, { 'cpu.max': 'max 100000', 'memory.max': 'max' })), { cpus: undefined, memoryBytes: undefined });
  assert.deepEqual(readContainerLimits(cgroup(t, { 'cpu/cpu.cfs_quota_us': '200000', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.limit_in_bytes': String(256 * MiB) })), { cpus: 2, memoryBytes: 256 * MiB });
  assert.deepEqual(readContainerLimits(cgroup(t, { 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.limit_in_bytes': '9223372036854771712' })), { cpus: undefined, memoryBytes: undefined });
  assert.deepEqual(readContainerLimits(cgroup(t, {})), { cpus: undefined, memoryBytes: undefined });
});

test('auto: one worker per whole CPU of the limit, no more than the memory limit holds', () => {
  const none = { cpus: undefined, memoryBytes: undefined };
  assert.equal(planWorkers('auto', none, 16).workers, 16, 'no limits: every core');
  assert.equal(planWorkers('auto', none, 16).heapMb, undefined);
  assert.equal(planWorkers('auto', { cpus: 2.5, memoryBytes: undefined }, 16).workers, 2);
  assert.equal(planWorkers('auto', { cpus: 0.2, memoryBytes: undefined }, 16).workers, 1, 'a fraction of a CPU still gets one');
  // The case: 256 MiB and many cores. 4 workers idle at ~266 MB would be OOM-killed.
  const small = planWorkers('auto', { cpus: undefined, memoryBytes: 256 * MiB }, 16);
  assert.equal(small.workers, 2);
  assert.equal(small.heapMb, 48, '(256 - 128) / 2 - 16');
  assert.match(small.reason, /memory limit 256 MiB/);
  const chartDefault = planWorkers('auto', { cpus: undefined, memoryBytes: 384 * MiB }, 16);
  assert.deepEqual([chartDefault.workers, chartDefault.heapMb], [4, 48]);
  assert.equal(planWorkers('auto', { cpus: undefined, memoryBytes: 128 * MiB }, 16).workers, 1, 'never fewer than one');
  assert.equal(planWorkers('auto', { cpus: undefined, memoryBytes: 128 * MiB }, 16).heapMb, undefined, 'one thread: the main isolate, sized by the runtime');
  const asked = planWorkers(8, { cpus: 1, memoryBytes: 512 * MiB }, 16);
  assert.deepEqual([asked.workers, asked.heapMb], [8, 32], 'a given count is kept; its heap share never goes below 32 MiB');
});

test('a pool sized by a cgroup memory limit starts workers with that heap limit', async (t) => {
  const root = cgroup(t, { 'cpu.max': '200000 100000', 'memory.max': String(320 * MiB) });
  assert.deepEqual([resolveWorkers('auto', root).workers, resolveWorkers('auto', root).heapMb], [2, 80]);
  const host = await createProxyHost({ workers: 'auto', cgroupRoot: root, processMetrics: false, log: createLogger('test', 'silent') });
  t.after(() => host.close());
  assert.ok(host instanceof WorkerPool);
  assert.equal(host.threadIds().length, 2);
});
