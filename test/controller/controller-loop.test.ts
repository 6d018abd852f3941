/**
 * The pieces under the controller's loops: SerialLoop's coalescing, serial runs, backoff and
 * bounded re-runs; the mesh-namespace view that lays the controller's own writes over a stale
 * informer cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/common/log.ts';
import { LEADING_BURST, SerialLoop, backoffDelay, forEachLimit } from '../../src/controller/kube/loop.ts';
import type { RunOutcome } from '../../src/controller/kube/loop.ts';
import { MeshNamespaceView } from '../../src/controller/shadow/reconciler.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import { waitFor } from '../support/kube.ts';

const log = createLogger('loop-test');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function loop(t: { after: (fn: () => unknown) => void }, outcomes: () => RunOutcome, options: { backoffMs?: number; gate?: () => Promise<void> } = {}) {
  const stats = { runs: 0, active: 0, maxActive: 0 };
  const l = new SerialLoop(async () => {
    stats.runs++;
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    await options.gate?.();
    stats.active--;
    return outcomes();
  }, { name: 'test', coalesceMs: 5, backoff: { minMs: options.backoffMs ?? 10_000, maxMs: options.backoffMs ?? 10_000 }, log });
  t.after(() => l.stop());
  return { l, stats };
}

test('a burst of triggers makes one run; triggers during a run make exactly one more; runs never overlap', async (t) => {
  let release: () => void = () => {};
  let gated = true;
  const { l, stats } = loop(t, () => 'done', { gate: () => (gated ? new Promise<void>((resolve) => { release = resolve; }) : Promise.resolve()) });
  for (let i = 0; i < 100; i++) l.trigger();
  await waitFor('the first run', () => stats.runs === 1);
  for (let i = 0; i < 100; i++) l.trigger();
  gated = false;
  release();
  await waitFor('the second run', () => l.runs === 2);
  await sleep(50);
  assert.equal(stats.runs, 2);
  assert.equal(stats.maxActive, 1);
});

test('a leading loop runs the next few triggers at once, then gathers the rest of the burst in its window', async (t) => {
  let runs = 0;
  // A window far beyond the test: any run that waited for it would never come.
  const l = new SerialLoop(async () => {
    runs++;
    return 'done';
  }, { name: 'leading', coalesceMs: 60_000, backoff: { minMs: 10, maxMs: 10 }, log, leading: true, paced: true });
  t.after(() => l.stop());
  for (let i = 1; i <= LEADING_BURST; i++) {
    l.trigger();
    await waitFor(`run ${i} without the window`, () => runs === i || undefined);
  }
  l.trigger();
  await sleep(50);
  assert.equal(runs, LEADING_BURST, 'the budget is spent: this trigger waits for the window');
});

test('a failed run waits out its backoff, whatever triggers arrive; a throwing run counts as failed', async (t) => {
  const { l, stats } = loop(t, () => 'retry');
  l.trigger();
  await waitFor('the first run', () => l.runs === 1);
  for (let i = 0; i < 20; i++) {
    l.trigger();
    await sleep(2);
  }
  assert.equal(stats.runs, 1, 'no run before the backoff is over');

  let calls = 0;
  const throwing = new SerialLoop(async () => {
    calls++;
    if (calls === 1) throw new Error('boom');
    return 'done';
  }, { name: 'throwing', coalesceMs: 1, backoff: { minMs: 5, maxMs: 5 }, log });
  t.after(() => throwing.stop());
  throwing.trigger();
  await waitFor('the retry after the throw', () => calls === 2);
});

test('`again` re-runs at once a few times, then backs off: writes never loop', async (t) => {
  const { l, stats } = loop(t, () => 'again');
  l.trigger();
  await waitFor('1 + 3 runs', () => stats.runs === 4);
  await sleep(50);
  assert.equal(stats.runs, 4);
  assert.equal(l.runs, 4);
});

test('backoff doubles within bounds, jittered to 50-100 %; forEachLimit bounds concurrency', async () => {
  const b = { minMs: 100, maxMs: 1000 };
  for (let i = 0; i < 200; i++) {
    const d0 = backoffDelay(b, 0);
    const d3 = backoffDelay(b, 3);
    const d40 = backoffDelay(b, 40);
    assert.ok(d0 >= 50 && d0 <= 100, String(d0));
    assert.ok(d3 >= 400 && d3 <= 800, String(d3));
    assert.ok(d40 >= 500 && d40 <= 1000, String(d40));
  }
  let active = 0;
  let max = 0;
  const seen: number[] = [];
  await forEachLimit(Array.from({ length: 30 }, (_, i) => i), 4, async (i) => {
    active++;
    max = Math.max(max, active);
    await sleep(1);
    seen.push(i);
    active--;
  });
  assert.equal(max, 4);
  assert.deepEqual(seen.toSorted((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
});

function svc(name: string, rv: string, extra: Partial<NonNullable<ServiceObject['spec']>> = {}): ServiceObject {
  return { metadata: { name, namespace: 'mesh', resourceVersion: rv }, spec: { ...extra } };
}

test('the mesh-namespace view: own writes hide a stale cache until the cache moves past them', () => {
  const cache = new Map<string, ServiceObject>();
  const view = new MeshNamespaceView({ list: () => [...cache.values()], get: (name) => cache.get(name) }, 'mesh');
  const names = () => view.services().map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`).toSorted();

  // Created: visible before the informer reports it; dropped once it does.
  view.record('a', svc('a', '5'), view.versionBefore('a'));
  assert.deepEqual(names(), ['a@5']);
  cache.set('a', svc('a', '5'));
  assert.deepEqual(names(), ['a@5']);
  // Someone else's later change is not hidden by the old write.
  cache.set('a', svc('a', '9'));
  assert.deepEqual(names(), ['a@9']);

  // Updated from 9 to 10: the cache still says 9, the view says 10; the informer then jumps to 12.
  const before = view.versionBefore('a');
  view.record('a', svc('a', '10'), before);
  assert.equal(view.get('a')?.metadata.resourceVersion, '10');
  cache.set('a', svc('a', '12'));
  assert.equal(view.get('a')?.metadata.resourceVersion, '12');

  // Deleted: gone at once, and stays gone only until the cache changes.
  view.record('a', undefined, view.versionBefore('a'));
  assert.deepEqual(names(), []);
  cache.delete('a');
  cache.set('a', svc('a', '20'));
  assert.deepEqual(names(), ['a@20'], 'recreated by someone: visible');

  // forget() drops writes the informer never confirmed.
  view.record('b', svc('b', '30'), undefined);
  assert.deepEqual(names(), ['a@20', 'b@30']);
  view.forget();
  assert.deepEqual(names(), ['a@20']);
});
