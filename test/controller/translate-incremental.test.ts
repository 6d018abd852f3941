/**
 * Incremental translation: translate() reuses, per Service, what it translated last time when
 * the Service's inputs are the same objects (memory.services). That memo may only save work:
 * the output with it must equal the output without it, for any sequence of changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResourceTracker } from '../../src/table/index.ts';
import type { PortId, ServiceId } from '../../src/table/index.ts';
import { translate } from '../../src/controller/translation/translate.ts';
import { Translator } from '../../src/controller/translation/translator.ts';
import { emptyMemory } from '../../src/controller/translation/types.ts';
import type { TranslateOptions, TranslationMemory } from '../../src/controller/translation/types.ts';
import type { ClusterState, EndpointSliceObject, ServiceObject } from '../../src/controller/objects.ts';
import { checkBrackets } from './support/expressions.ts';
import { state } from './support/arbitraries.ts';

/** The next state: some of the previous objects (the same instances), some of another state's. */
const steps = fc.tuple(state, fc.array(fc.tuple(state, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 })), { minLength: 1, maxLength: 4 }))
  .map(([first, rest]) => {
    const out: ClusterState[] = [first];
    for (const [other, keep] of rest) {
      const prev = out.at(-1)!;
      const pick = <T>(a: readonly T[], b: readonly T[], offset: number): T[] =>
        [...a.filter((_, i) => keep[(i + offset) % keep.length]), ...b.filter((_, i) => !keep[(i + offset + 3) % keep.length])];
      out.push({ services: pick(prev.services, other.services, 0), endpointSlices: pick(prev.endpointSlices, other.endpointSlices, 7) });
    }
    return out;
  });

const stepOptions = fc.record({
  mode: fc.constantFrom<'standalone' | 'cluster'>('standalone', 'cluster'),
  // A narrow range runs out of ports, so some Services get none.
  top: fc.constantFrom(15003, 15019),
  addresses: fc.constantFrom('none', 'some', 'all'),
  acl: fc.boolean(),
});

function optionsFor(o: { mode: 'standalone' | 'cluster'; top: number; addresses: string; acl: boolean }, s: ClusterState): TranslateOptions {
  const shadowAddresses = new Map<ServiceId, string[]>();
  s.services.forEach((svc, i) => {
    if (o.addresses === 'all' || (o.addresses === 'some' && i % 2 === 0)) shadowAddresses.set(`${svc.metadata.namespace || 'default'}/${svc.metadata.name}`, [`10.96.0.${i + 1}`]);
  });
  return { mode: o.mode, portRange: [15000, o.top], checkExpression: checkBrackets, shadowAddresses, acl: o.acl };
}

/** The memory without the per-Service memo (and without the parse cache): only what changes the output. */
const withoutMemo = (m: TranslationMemory): TranslationMemory => ({ settings: m.settings });

test('property: incremental translation equals a full one, step after step', () => {
  fc.assert(fc.property(steps, fc.array(stepOptions, { minLength: 5, maxLength: 5 }), (states, opts) => {
    let memory = emptyMemory();
    let ports: ReadonlyMap<PortId, number> = new Map();
    states.forEach((s, i) => {
      const options = optionsFor(opts[i]!, s);
      const incremental = translate({ state: s, memory, ports, options });
      const full = translate({ state: s, memory: withoutMemo(memory), ports, options });
      assert.deepEqual(incremental.content, full.content, `step ${i}: content`);
      assert.deepEqual(incremental.diagnostics, full.diagnostics, `step ${i}: diagnostics`);
      assert.deepEqual([...incremental.ports].toSorted(), [...full.ports].toSorted(), `step ${i}: ports`);
      assert.deepEqual([...incremental.memory.settings].toSorted(), [...full.memory.settings].toSorted(), `step ${i}: last good settings`);
      memory = incremental.memory;
      ports = incremental.ports;
    });
  }), { numRuns: 300 });
});

const N = 200;

function svc(i: number, annotations?: Record<string, string>): ServiceObject {
  return { metadata: { name: `s${i}`, namespace: 'shop', ...(annotations ? { annotations } : {}) }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

function slice(i: number, address = `10.1.${i >> 8}.${i & 255}`): EndpointSliceObject {
  return {
    metadata: { name: `s${i}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': `s${i}` } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function cluster(): ClusterState {
  // s0 splits onto s1 and mirrors to s2: its route depends on them.
  const services = Array.from({ length: N }, (_, i) => svc(i, i === 0 ? { 'hostmesh.io/traffic-split-weights': 's0=1,s1=1', 'hostmesh.io/mirror-service': 's2' } : undefined));
  return { services, endpointSlices: Array.from({ length: N }, (_, i) => slice(i)) };
}

test('one EndpointSlice change rebuilds one cluster\'s entries; every other entry is the same object', () => {
  const translator = new Translator({ mode: 'standalone', portRange: [15000, 15999] });
  const s = cluster();
  const before = translator.translate(s).content;
  const changed = { ...s, endpointSlices: s.endpointSlices.with(7, slice(7, '10.9.9.9')) };
  const after = translator.translate(changed).content;

  const rebuilt = (kind: string, a: readonly object[], b: readonly object[]): number => {
    assert.equal(a.length, b.length, kind);
    return a.filter((x, i) => x !== b[i]).length;
  };
  assert.equal(rebuilt('clusters', before.clusters, after.clusters), 1);
  assert.equal(after.clusters.find((c) => c.id === 'shop/s7:80')?.endpoints[0]?.address, '10.9.9.9');
  // s7's route and DNS entry are rebuilt from its new translation (equal, new objects).
  assert.equal(rebuilt('routes', before.routes, after.routes), 1);
  assert.equal(rebuilt('dns', before.dns.services, after.dns.services), 1);
  assert.equal(rebuilt('listeners', before.listeners, after.listeners), 0);
  assert.deepEqual(after.routes.find((r) => r.id === 'shop/s7:80'), before.routes.find((r) => r.id === 'shop/s7:80'));

  // A change to a Service another route names (s1, a split target) rebuilds that route too.
  const target = { ...changed, endpointSlices: changed.endpointSlices.with(1, slice(1, '10.9.9.1')) };
  const third = translator.translate(target).content;
  assert.equal(rebuilt('routes', after.routes, third.routes), 2);
  assert.deepEqual(third.routes.find((r) => r.id === 'shop/s0:80')?.backends, [{ cluster: 'shop/s0:80', weight: 1 }, { cluster: 'shop/s1:80', weight: 1 }]);
});

test('the publisher\'s delta for one endpoint change is that cluster\'s endpoints only', () => {
  const translator = new Translator({ mode: 'standalone', portRange: [15000, 15999] });
  const tracker = new ResourceTracker();
  const s = cluster();
  assert.equal(tracker.update(translator.translate(s).content).changes.length, 1 + 5 * N, 'first: the DNS settings, and per Service its DNS name, listener, route, cluster and endpoints');
  const next = translator.translate({ ...s, endpointSlices: s.endpointSlices.with(42, slice(42, '10.9.9.42')) });
  const { changes } = tracker.update(next.content);
  assert.deepEqual(changes, [{ kind: 'endpoints', key: 'shop/s42:80', value: [{ address: '10.9.9.42', port: 8080 }] }]);
  assert.ok(JSON.stringify(changes).length < 2048);
});

test('a Service removed and added back, or moved out of scope, is translated afresh', () => {
  const options: TranslateOptions = { mode: 'standalone', portRange: [15000, 15999] };
  const s = cluster();
  const first = translate({ state: s, memory: emptyMemory(), ports: new Map(), options });
  const without = { services: s.services.slice(1), endpointSlices: s.endpointSlices };
  const second = translate({ state: without, memory: first.memory, ports: first.ports, options });
  assert.equal(second.content.routes.length, N - 1);
  const third = translate({ state: s, memory: second.memory, ports: second.ports, options });
  assert.equal(third.content.routes.length, N);
  const scoped = translate({ state: s, memory: third.memory, ports: third.ports, options: { ...options, ignoreNamespaces: ['shop'] } });
  assert.equal(scoped.content.routes.length, 0);
});
