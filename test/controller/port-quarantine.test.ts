/** Ports freed by a deleted Service stay out of allocation for a while (issue 16, finding 8). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PORT_QUARANTINE_MS, Translator } from '../../src/controller/translation/translator.ts';
import type { ClusterState, ServiceObject } from '../../src/controller/objects.ts';

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
