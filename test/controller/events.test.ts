/**
 * Warning Events for bad annotations: one per problem, also across restarts; a Service keeps
 * its old behaviour; a different problem gets a new Event and a returning one bumps the old.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CoreV1Event } from '@kubernetes/client-node';
import { EVENT_COMPONENT, EVENT_REPORTING_CONTROLLER, eventName, eventReason, serviceProblems } from '../../src/controller/kube/events.ts';
import type { Diagnostic } from '../../src/controller/translation/types.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { endpointSlice, service, startFakeApiServer, waitFor } from '../support/kube.ts';
import { startController } from './controller-harness.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function events(fake: FakeApiServer, namespace = 'shop'): CoreV1Event[] {
  return fake.list<CoreV1Event>('events', namespace);
}

function eventCreates(fake: FakeApiServer): (number | undefined)[] {
  return fake.requests.filter((r) => r.verb === 'create' && r.resource === 'events').map((r) => r.code);
}

function annotate(fake: FakeApiServer, value: string): void {
  fake.patch('services', 'web', 'shop', { metadata: { annotations: { 'hostmesh.io/retry-count': value } } });
}

test('a bad annotation: one Warning Event, also after a restart; the Service keeps its last valid settings', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.create('services', service('shop', 'web', { annotations: { 'hostmesh.io/retry-count': '2' } }));
  fake.create('endpointslices', endpointSlice('shop', 'web', 'web-1', ['10.0.0.1']));
  const uid = fake.get<ServiceObject>('services', 'web', 'shop').metadata.uid;
  const a = await startController(t, fake);
  assert.equal(a.latest().content.routes[0]?.retry?.count, 2);

  annotate(fake, 'many');
  const [event] = await waitFor('the Event', () => (events(fake).length > 0 ? events(fake) : undefined));
  assert.equal(event!.type, 'Warning');
  assert.equal(event!.reason, 'InvalidAnnotation');
  assert.deepEqual(event!.involvedObject, { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web', uid });
  assert.match(event!.message!, /^shop\/web: hostmesh\.io\/retry-count: "many" is not a whole number/);
  assert.match(event!.message!, /keeps its last valid settings/);
  assert.equal(event!.count, 1);
  // What client-node put on the wire, as stored: legacy core/v1 fields, RFC 3339 times, no eventTime.
  assert.match(String(event!.firstTimestamp), RFC3339);
  assert.equal(event!.firstTimestamp, event!.lastTimestamp);
  assert.equal(event!.eventTime, undefined);
  assert.deepEqual(event!.source, { component: EVENT_COMPONENT });
  assert.equal(event!.reportingComponent, EVENT_REPORTING_CONTROLLER);
  assert.equal(event!.reportingInstance, 'controller-test-0');
  assert.match(event!.metadata.name!, /^web\.[0-9a-f]{16}$/);
  assert.equal(fake.list('events.events.k8s.io', 'shop').length, 0, 'core/v1 Events, which the chart\'s RBAC grants');
  assert.ok(fake.requests.filter((r) => r.resource === 'events').every((r) => r.verb === 'create' || r.verb === 'patch'), 'only verbs the RBAC grants');

  // Old behaviour kept; the problem shows in diagnostics; more changes send nothing new.
  let p = await a.until('the diagnostic published', (x) => x.diagnostics.some((d) => d.code === 'annotation-invalid'));
  assert.equal(p.content.routes[0]?.retry?.count, 2, 'the Service keeps its last valid settings');
  assert.ok(a.controller.diagnostics().some((d) => d.code === 'annotation-invalid' && d.key === 'hostmesh.io/retry-count' && d.value === 'many'));
  fake.patch('endpointslices', 'web-1', 'shop', { endpoints: [{ addresses: ['10.0.0.2'], conditions: { ready: true } }] });
  await a.until('the new endpoint', (x) => x.content.clusters[0]?.endpoints[0]?.address === '10.0.0.2');
  await a.stop();
  assert.deepEqual(eventCreates(fake), [201]);

  // A restarted controller finds the Event it would send already there.
  const b = await startController(t, fake);
  await waitFor('the restarted controller\'s create', () => eventCreates(fake).length === 2);
  assert.deepEqual(eventCreates(fake), [201, 409]);
  assert.equal(events(fake).length, 1);

  // Fixed, then broken another way: one new Event.
  annotate(fake, '3');
  await b.until('fixed', (x) => x.content.routes[0]?.retry?.count === 3 && x.diagnostics.length === 0);
  annotate(fake, 'lots');
  await waitFor('the second Event', () => events(fake).length === 2);
  const second = events(fake).find((e) => e.metadata.name !== event!.metadata.name)!;
  assert.match(second.message!, /"lots"/);
  p = await b.until('lots reported', (x) => x.diagnostics.some((d) => d.value === 'lots'));
  assert.equal(p.content.routes[0]?.retry?.count, 3);

  // Fixed and broken the same way again: the existing Event is bumped, not duplicated.
  annotate(fake, '4');
  await b.until('fixed again', (x) => x.diagnostics.length === 0);
  annotate(fake, 'lots');
  await waitFor('the bump', () => events(fake).find((e) => e.metadata.name === second.metadata.name)?.count === 2);
  assert.equal(events(fake).length, 2);
  assert.deepEqual(eventCreates(fake), [201, 409, 201]);
  assert.equal(fake.count('patch', 'events'), 1);
});

test('Events cannot be sent (RBAC): logged and retried, routing goes on', async (t) => {
  const fake = await startFakeApiServer(t);
  fake.failNext('create', { resource: 'events', code: 403, times: 2 });
  fake.create('services', service('shop', 'web', { annotations: { 'hostmesh.io/dial-timeout': '3 sec' } }));
  const h = await startController(t, fake);
  assert.equal(h.latest().content.routes.length, 1);
  await waitFor('the Event after two refusals', () => events(fake).length === 1);
  assert.deepEqual(eventCreates(fake), [403, 403, 201]);
});

const svc = (namespace: string, name: string, uid?: string): ServiceObject => ({ metadata: { namespace, name, ...(uid ? { uid } : {}) } });
const diag = (severity: Diagnostic['severity'], code: Diagnostic['code'], name: string, extra: Partial<Diagnostic> = {}): Diagnostic => ({
  severity, code, object: { kind: 'Service', namespace: 'ns', name }, message: `ns/${name}: ${code}`, ...extra,
});

test('serviceProblems: warnings and errors of existing Services; info, files and unknown Services are not Events', () => {
  const problems = serviceProblems([
    diag('error', 'annotation-invalid', 'a', { key: 'hostmesh.io/retry-count', value: 'x', message: 'ns/a: hostmesh.io/retry-count: "x" is bad' }),
    diag('warning', 'settings-last-good', 'a', { message: 'ns/a: because of the invalid annotation(s), the Service keeps its last valid settings until they are fixed' }),
    diag('warning', 'port-unresolved', 'b'),
    diag('info', 'service-skipped', 'b'),
    diag('error', 'annotation-invalid', 'gone', { key: 'k', value: 'v' }),
    { severity: 'error', code: 'manifest-parse-error', object: { kind: 'File', name: 'x.yaml' }, message: 'x' },
    // The same problem twice makes one Event.
    diag('warning', 'port-unresolved', 'b'),
  ], [svc('ns', 'a', 'uid-a'), svc('ns', 'b', 'uid-b'), svc('ns', 'no-uid')]);
  assert.deepEqual(problems.map((p) => [p.service, p.reason, p.message]), [
    ['a', 'InvalidAnnotation', 'ns/a: hostmesh.io/retry-count: "x" is bad; because of the invalid annotation(s), the Service keeps its last valid settings until they are fixed'],
    ['b', 'PortUnresolved', 'ns/b: port-unresolved'],
  ]);
  assert.equal(eventReason('split-target-missing'), 'SplitTargetMissing');
  assert.equal(eventReason('annotation-invalid-expression'), 'InvalidAnnotation');
  const long = serviceProblems([diag('error', 'annotation-invalid', 'a', { key: 'k', value: 'v', message: 'x'.repeat(5000) })], [svc('ns', 'a', 'u')]);
  assert.equal(long[0]!.message.length, 1024);
});

test('eventName: a valid object name, stable per Service object and problem, different otherwise', () => {
  const d = { code: 'annotation-invalid' as const, key: 'hostmesh.io/retry-count', value: 'x', message: 'm' };
  const name = eventName('web', 'uid-1', d);
  assert.equal(eventName('web', 'uid-1', { ...d, message: 'reworded' }), name, 'the message does not matter when key or value say it');
  assert.notEqual(eventName('web', 'uid-1', { ...d, value: 'y' }), name);
  assert.notEqual(eventName('web', 'uid-2', d), name, 'a recreated Service is a new object');
  assert.notEqual(eventName('web', 'uid-1', { ...d, code: 'annotation-conflict' }), name);
  const noKey = { code: 'port-invalid' as const, message: 'port 1' };
  assert.notEqual(eventName('web', 'u', noKey), eventName('web', 'u', { ...noKey, message: 'port 2' }));
  fc.assert(fc.property(
    fc.stringMatching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/), fc.uuid(), fc.string(), fc.option(fc.string(), { nil: undefined }),
    (service, uid, key, value) => {
      const n = eventName(service, uid, { code: 'annotation-invalid', key, value, message: '' });
      assert.match(n, DNS_SUBDOMAIN);
      assert.ok(n.length <= 253);
    },
  ));
});
