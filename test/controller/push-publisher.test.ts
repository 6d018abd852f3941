import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { setTimeout as delay } from 'node:timers/promises';
import { TABLE_FORMAT, tableDigest, validateTable } from '../../src/table/index.ts';
import type { StatusDiagnostic } from '../../src/table/index.ts';
import { Publisher } from '../../src/controller/push/publisher.ts';
import type { Publication } from '../../src/controller/push/publisher.ts';
import { VersionHistory } from '../../src/controller/push/history.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import { content } from './push-fixtures.ts';
import { until } from '../support/until.ts';

const warning = (name: string): StatusDiagnostic => ({
  severity: 'warning', code: 'BAD_ANNOTATION', object: { kind: 'Service', namespace: 'bench', name }, key: 'hostmesh.io/retry-count', value: 'x', message: 'not a number',
});

function collect(p: Publisher): Publication[] {
  const seen: Publication[] = [];
  p.subscribe((pub) => seen.push(pub));
  return seen;
}

test('a burst of 100 publishes inside the window makes one version', async (t) => {
  const p = new Publisher({ epoch: 'e1', coalesceMs: 30, maxDelayMs: 200 });
  t.after(() => p.close());
  const seen = collect(p);
  const base = content(5);
  for (let i = 1; i <= 100; i++) p.publish(content(5, i), [warning(`s${i}`)]);
  assert.equal(seen.length, 0, 'nothing is published synchronously');
  assert.equal(p.current, undefined);
  await until('the coalesced publish', () => seen.length > 0);
  await delay(60);
  assert.equal(seen.length, 1);
  const pub = seen[0]!;
  assert.equal(pub.table.version, 1);
  assert.equal(pub.table.epoch, 'e1');
  assert.equal(pub.table.format, TABLE_FORMAT);
  assert.ok(!Number.isNaN(Date.parse(pub.table.generatedAt)));
  assert.equal(pub.digest, tableDigest(pub.table));
  // The last content of the burst wins, with its diagnostics.
  assert.equal(pub.digest, tableDigest({ ...pub.table, ...content(5, 100) }));
  assert.notEqual(pub.digest, tableDigest({ ...pub.table, ...base }));
  assert.equal(p.diagnostics[0]?.object.name, 's100');
  assert.equal(validateTable(pub.table).ok, true);
  assert.equal(p.current, pub);
  assert.equal(typeof p.publishedAt(1), 'number');
});

test('identical content is not republished, but its diagnostics replace the old ones', () => {
  const p = new Publisher({ epoch: 'e1' });
  const seen = collect(p);
  p.publish(content(3), [warning('a')]);
  p.flush();
  p.publish(content(3), [warning('b')]);
  assert.equal(p.flush()?.table.version, 1);
  assert.equal(seen.length, 1);
  assert.equal(p.diagnostics[0]?.object.name, 'b');
  // A deep copy is the same content too: equality is by digest, not identity.
  p.publish(structuredClone(content(3)), []);
  p.flush();
  assert.equal(seen.length, 1);
  assert.deepEqual(p.diagnostics, []);
  p.publish(content(3, 1));
  p.flush();
  assert.deepEqual(seen.map((s) => s.table.version), [1, 2]);
  p.close();
});

test('the first publish always makes a version, even of an empty table', () => {
  const p = new Publisher();
  assert.match(p.epoch, /^[0-9a-f-]{36}$/, 'a random epoch by default');
  assert.notEqual(new Publisher().epoch, p.epoch);
  assert.equal(p.version, 0);
  p.publish(content(0));
  assert.equal(p.flush()?.table.version, 1);
  p.close();
});

test('a steady trickle of changes is still published within maxDelayMs', async (t) => {
  const p = new Publisher({ epoch: 'e', coalesceMs: 50, maxDelayMs: 100 });
  t.after(() => p.close());
  const seen = collect(p);
  // One change every 10 ms never leaves a 50 ms quiet gap; only the deadline can publish.
  let i = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      p.publish(content(2, ++i));
      if (i === 40) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  assert.ok(seen.length >= 2, `expected several versions during the trickle, got ${seen.length}`);
  assert.ok(seen.length < 40, `expected coalescing, got ${seen.length} versions for 40 changes`);
  assert.deepEqual(seen.map((s) => s.table.version), seen.map((_, k) => k + 1), 'versions are consecutive');
});

test('close() drops pending content and stops publishing', async () => {
  const p = new Publisher({ coalesceMs: 5, maxDelayMs: 10 });
  const seen = collect(p);
  p.publish(content(1));
  p.close();
  p.publish(content(1, 2));
  await delay(30);
  assert.equal(seen.length, 0);
  assert.equal(p.current, undefined);
});

test('options are checked', () => {
  for (const bad of [{ coalesceMs: -1 }, { coalesceMs: 100, maxDelayMs: 50 }, { epoch: '' }, { maxDelayMs: Number.NaN }]) {
    assert.throws(() => new Publisher(bad), (e) => isHostmeshError(e, 'PUBLISHER_OPTIONS'));
  }
});

test('version history answers when a proxy started to be behind, within its capacity', () => {
  const h = new VersionHistory(4);
  assert.equal(h.firstAfter(0), undefined);
  for (let v = 1; v <= 6; v++) h.record(v, v * 100);
  assert.equal(h.at(1), undefined, 'forgotten past capacity');
  assert.equal(h.at(3), 300);
  assert.equal(h.at(6), 600);
  assert.equal(h.firstAfter(4), 500);
  assert.equal(h.firstAfter(0), 300, 'older than remembered: the oldest remembered');
  assert.equal(h.firstAfter(6), undefined, 'up to date');
  fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 250 }), (cap, n, probe) => {
    const hist = new VersionHistory(cap);
    for (let v = 1; v <= n; v++) hist.record(v, v);
    const oldest = Math.max(1, n - cap + 1);
    assert.equal(hist.at(probe), probe >= oldest && probe <= n ? probe : undefined);
    assert.equal(hist.firstAfter(probe), probe >= n ? undefined : Math.max(oldest, probe + 1));
  }));
});

test('hinted publishes merge while pending: the same version and delta as without hints; a hint about other content is ignored', () => {
  const base = content(20);
  const move = (c: typeof base, i: number, address: string): { next: typeof base; cluster: (typeof base)['clusters'][number] } => {
    const cluster = { ...c.clusters[i]!, endpoints: [{ address, port: 8080 }] };
    return { next: { ...c, clusters: c.clusters.with(i, cluster) }, cluster };
  };
  const a = move(base, 3, '10.9.0.3');
  const b = move(a.next, 7, '10.9.0.7');
  const c = move(b.next, 3, '10.9.1.3');
  const run = (hinted: boolean): Publication => {
    const p = new Publisher({ epoch: 'e' });
    p.publish(base);
    p.flush();
    const hint = (from: typeof base, cluster: (typeof base)['clusters'][number]) => hinted ? { base: from, dnsServices: [], listeners: [], routes: [], clusters: [cluster], identities: false } : undefined;
    p.publish(a.next, [], hint(base, a.cluster));
    p.publish(b.next, [], hint(a.next, b.cluster));
    p.publish(c.next, [], hint(b.next, c.cluster));
    const pub = p.flush()!;
    p.close();
    return pub;
  };
  const plain = run(false);
  const hinted = run(true);
  assert.equal(hinted.table.version, 2);
  assert.equal(hinted.digest, plain.digest);
  assert.deepEqual(hinted.delta?.changes.toSorted((x, y) => x.key < y.key ? -1 : 1), plain.delta?.changes.toSorted((x, y) => x.key < y.key ? -1 : 1));
  assert.deepEqual(hinted.delta?.changes.map((ch) => `${ch.kind} ${ch.key}`).toSorted(), ['endpoints bench/svc-3:80', 'endpoints bench/svc-7:80']);

  // A hint whose base is not the content published before is not trusted.
  const p = new Publisher({ epoch: 'e' });
  p.publish(base);
  p.flush();
  p.publish(b.next, [], { base: a.next, dnsServices: [], listeners: [], routes: [], clusters: [b.cluster], identities: false });
  assert.deepEqual(p.flush()?.delta?.changes.map((ch) => `${ch.kind} ${ch.key}`).toSorted(), ['endpoints bench/svc-3:80', 'endpoints bench/svc-7:80']);
  p.close();
});

test('a lone publish goes out on the next turn, and so do the next ones up to the leading budget; beyond it a burst waits for quiet', async () => {
  const p = new Publisher({ epoch: 'e', coalesceMs: 60_000, maxDelayMs: 120_000, leadingBurst: 2 });
  const seen = collect(p);
  p.publish(content(3));
  assert.equal(seen.length, 0, 'not synchronously');
  await delay(20);
  assert.deepEqual(seen.map((s) => s.table.version), [1], 'without waiting out the minute-long window');
  // The second of a pair (a pod's status, then its EndpointSlice) does not wait either; calls
  // in one turn make one version.
  p.publish(content(3, 1));
  p.publish(content(3, 2));
  await delay(20);
  assert.deepEqual(seen.map((s) => s.table.version), [1, 2], 'the second change spends the second token');
  p.publish(content(3, 3));
  await delay(20);
  assert.equal(seen.length, 2, 'the budget is spent: a publish during a burst waits for it to be quiet');
  assert.equal(p.flush()?.table.version, 3, 'and then makes one version');
  p.close();
});
