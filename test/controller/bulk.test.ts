/**
 * Bulk changes (issue 12): a namespace of 1,000 Services created at once. The fake API server
 * times every shadow write it answers: never more in flight than the pacing allows, never more
 * started in any one second than its rate (plus the writes in flight at that second's start,
 * which may reach the server late), over a few reused connections; and the burst of new
 * shadow ClusterIPs is published as a few tables, not one per 200 ms gathering window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstWindow } from '../../src/controller/kube/burst-window.ts';
import type { RequestRecord } from '../support/fake-apiserver.ts';
import { service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { MESH, shadowsOf, startController } from './controller-harness.ts';

const SERVICES = 1000;
const PACING = { concurrency: 8, perSecond: 250 };
/**
 * The gathering window of new ClusterIPs: the default shortest one, and a longest one beyond
 * how long the burst takes even on a loaded machine, so the count of tables does not depend on
 * the machine's speed: windows of 200, 400, 800 ms ... make at most log2(burst / 200 ms) + 1
 * translations, where fixed 200 ms windows would make one per 200 ms (20 for a burst of 4 s,
 * this pacing on an idle machine). Besides those: the translation when the writes end, and the
 * ones that route the new Services (one or two, as the informer delivers them).
 */
const BATCH = { minMs: 200, maxMs: 600_000 };
const maxTables = (burstMs: number): number => Math.floor(Math.log2(Math.max(1, burstMs / BATCH.minMs))) + 1 + 1 + 3;

/** Most requests whose [receivedAt, answeredAt] overlap. */
function maxConcurrent(writes: readonly RequestRecord[]): number {
  const events = writes.flatMap((r) => [[r.receivedAt, 1], [r.answeredAt!, -1]] as const)
    // At equal times an end comes first: a request answered as another arrives did not overlap it.
    .toSorted((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}

/** Most requests received within any 1,000 ms. */
function maxPerSecond(writes: readonly RequestRecord[]): number {
  const at = writes.map((r) => r.receivedAt).toSorted((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < at.length; j++) {
    while (at[j]! - at[i]! >= 1000) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

test('1,000 Services at once: shadow writes stay within the pacing and the new names make a few tables', async (t) => {
  // A write takes 20 ms to answer, so the controller's writes overlap as they would on a real server.
  const fake = await startFakeApiServer(t, { writeLatencyMs: 20 });
  const c = await startController(t, fake, { shadowWrites: PACING, shadowBatch: BATCH });
  const before = c.published.length;
  const connections = fake.connectionsOpened;
  const started = performance.now();
  for (let i = 0; i < SERVICES; i++) fake.create('services', service('bulk', `svc-${i}`));
  const routed = await c.until('every route', (p) => p.content.routes.length === SERVICES);
  // Counted from the requests, not from fake.list(): listing (a copy of) 1,000 objects on every
  // poll was most of this test's CPU.
  const created = (): RequestRecord[] => fake.requests.filter((r) => r.resource === 'services' && r.namespace === MESH && r.verb === 'create');
  await waitFor('every shadow', () => created().filter((r) => r.code === 201).length >= SERVICES, 170_000);
  assert.equal(shadowsOf(fake).size, SERVICES);
  const last = await c.until('every name in DNS', (p) => p.content.dns.services.filter((s) => s.addresses.length > 0).length === SERVICES);
  const burstMs = performance.now() - started;
  const tables = c.published.indexOf(last) + 1 - before;
  const routing = c.published.indexOf(routed) + 1 - before;
  t.diagnostic(`${tables} tables in ${(burstMs / 1000).toFixed(1)} s: ${routing} until every route, ${tables - routing} more until every name`);

  const writes = created();
  assert.equal(writes.length, SERVICES, 'one create per shadow, no retries');
  assert.ok(writes.every((r) => r.code === 201 && r.answeredAt !== undefined));
  // A pool of connections, not one connection per write (client-node's own behaviour): a few
  // per write in flight, more only where the pool's idle ones timed out on a loaded machine.
  const opened = fake.connectionsOpened - connections;
  assert.ok(opened < SERVICES / 10, `${opened} connections opened for ${SERVICES} writes`);
  const inFlight = maxConcurrent(writes);
  assert.ok(inFlight <= PACING.concurrency, `${inFlight} shadow writes in flight at once, limit ${PACING.concurrency}`);
  assert.ok(inFlight >= 2, `the writes overlapped (${inFlight} at most): the concurrency limit was exercised`);
  const perSecond = maxPerSecond(writes);
  assert.ok(perSecond <= PACING.perSecond + PACING.concurrency, `${perSecond} shadow writes within one second, limit ${PACING.perSecond} (+${PACING.concurrency} in flight)`);
  // Not a time limit: the count of tables may grow with the logarithm of how long the burst took.
  assert.ok(tables >= 1 && tables <= maxTables(burstMs), `the burst (${Math.round(burstMs)} ms) was published as ${tables} tables, at most ${maxTables(burstMs)} expected`);
});

test('a burst window: a lone trigger waits the shortest window; a burst widens it up to the longest', async () => {
  // The burst is made inside the firing itself (a trigger at once after each firing), and each
  // window is read at the firing's own time, so the machine's speed cannot end the burst.
  let fired = 0;
  let firedAt = 0;
  const windows: number[] = [];
  const w: BurstWindow = new BurstWindow(() => {
    fired++;
    firedAt = performance.now();
    windows.push(w.nextWindowMs(firedAt));
    if (fired < 3) w.trigger();
  }, { minMs: 20, maxMs: 80 });
  assert.throws(() => new BurstWindow(() => {}, { minMs: 50, maxMs: 10 }), RangeError);
  assert.equal(w.nextWindowMs(), 20, 'nothing fired yet: the shortest window');
  w.trigger();
  w.trigger();
  await waitFor('three firings', () => fired === 3);
  // Straight after each firing: a burst, twice the last window, capped at maxMs.
  assert.deepEqual(windows, [40, 80, 80]);
  // A quiet spell longer than the last window: the next trigger is a lone one again.
  assert.equal(w.nextWindowMs(firedAt + 81), 20);
  assert.equal(w.firings, 3);
  w.stop();
});
