/** Ports freed by a deleted Service stay out of allocation for a while (issue 16, finding 8). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PORT_QUARANTINE_MS, Translator } from '../../src/controller/translation/translator.ts';
import type { ClusterState, ServiceObject } from '../../src/controller/objects.ts';
import { formatQuarantine, parseQuarantine } from '../../src/controller/translation/quarantine-text.ts';
import fc from 'fast-check';

function svc(name: string): ServiceObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'a' }, spec: { ports: [{ name: 'http', port: 80 }] } } as ServiceObject;
}

function state(...names: string[]): ClusterState {
  return { services: names.map(svc), endpointSlices: [] };
}

test('a port freed by a deleted Service is not handed to a new Service until its quarantine ends', () => {
  let now = 1_000_000;
  const tr = new Translator({ mode: 'standalone', portRange: [15000, 15001] }, undefined, () => now);
  const first = tr.translate(state('old'));
  const oldPort = first.ports.get('a/old:80');
  assert.notEqual(oldPort, undefined);
  tr.translate(state());
  // Another Service takes the other free port; the freed one is held back even when it is the
  // only one left.
  const second = tr.translate(state('new1', 'new2'));
  assert.notEqual(second.ports.get('a/new1:80'), oldPort);
  assert.notEqual(second.ports.get('a/new2:80'), oldPort);
  assert.equal([...second.ports.values()].includes(oldPort!), false, 'the freed port is quarantined');
  now += PORT_QUARANTINE_MS;
  const third = tr.translate(state('new1', 'new2'));
  assert.equal([...third.ports.values()].includes(oldPort!), true, 'after the quarantine the port is used again');
});

test('a port freed in the same translation that adds a Service is quarantined too; with quarantine off it is reused', () => {
  const tr = new Translator({ mode: 'standalone', portRange: [15000, 15001] }, undefined, () => 1_000_000);
  const first = tr.translate(state('kept', 'old'));
  const oldPort = first.ports.get('a/old:80')!;
  const swapped = tr.translate(state('kept', 'new'));
  assert.equal(swapped.ports.get('a/new:80'), undefined, 'the only free port was freed by this very change');
  assert.ok(swapped.diagnostics.some((d) => d.code === 'ports-exhausted'));
  const off = new Translator({ mode: 'standalone', portRange: [15000, 15001], portQuarantineMs: 0 });
  off.translate(state('kept', 'old'));
  assert.equal(off.translate(state('kept', 'new')).ports.get('a/new:80'), oldPort);
});

test('a quarantine read back after a restart holds its ports back from new Services, never from the Services that hold them, and ends on time', () => {
  let now = 1_000_000;
  const before = new Translator({ mode: 'standalone', portRange: [15000, 15003] }, undefined, () => now);
  const first = before.translate(state('kept', 'gone'));
  before.translate(state('kept'));
  const gonePort = first.ports.get('a/gone:80')!;
  const keptPort = first.ports.get('a/kept:80')!;
  // What the store keeps; the restarted translator starts from the allocation on the shadows.
  const stored = parseQuarantine(formatQuarantine(before.quarantine()));
  assert.deepEqual([...stored.freed.keys()], [gonePort]);
  now += 1000;
  const after = new Translator({ mode: 'standalone', portRange: [15000, 15003] }, undefined, () => now);
  // A stale entry naming the kept Service's own port must not move that Service.
  after.restoreQuarantine(new Map([...stored.freed, [keptPort, now - 10]]));
  const next = after.translate(state('kept', 'new1', 'new2'), undefined, new Map([['a/kept:80', keptPort]]));
  assert.equal(next.ports.get('a/kept:80'), keptPort, 'a held port stays with its holder');
  assert.equal([...next.ports.values()].includes(gonePort), false, 'the freed port is still quarantined after the restart');
  now += PORT_QUARANTINE_MS;
  const later = after.translate(state('kept', 'new1', 'new2', 'new3'));
  assert.equal([...later.ports.values()].includes(gonePort), true, 'then it is used again');
});

test('property: the stored quarantine reads back as written; entries that are not a port and a time are skipped', () => {
  fc.assert(fc.property(fc.dictionary(fc.integer({ min: 1, max: 65535 }).map(String), fc.integer({ min: 0, max: 4_102_444_800_000 })), (d) => {
    const freed = new Map(Object.entries(d).map(([p, at]) => [Number(p), at] as [number, number]));
    const back = parseQuarantine(formatQuarantine(freed));
    assert.deepEqual(back.skipped, []);
    assert.deepEqual([...back.freed].toSorted(([a], [b]) => a - b), [...freed].toSorted(([a], [b]) => a - b));
  }));
  const mixed = parseQuarantine('{"10001":"2026-12-06T14:00:00.000Z","0":"2026-12-06T14:00:00.000Z","x":"y","10002":"soon","70000":"2026-12-06T14:00:00.000Z"}');
  assert.deepEqual([...mixed.freed.keys()], [10001]);
  assert.equal(mixed.skipped.length, 4);
  assert.deepEqual(parseQuarantine('not json'), { freed: new Map(), skipped: ['not json'] });
});
