/** The fake API server's parsers: label selectors (properties) and patch formats (examples). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SelectorError, labelMatcher, parseLabelSelector } from './support/fake-apiserver-selectors.ts';
import type { LabelRequirement } from './support/fake-apiserver-selectors.ts';
import { PatchError, jsonPatch, mergePatch } from './support/fake-apiserver-patch.ts';

const keyArb = fc.constantFrom('app', 'tier', 'example.com/team', 'k8s.io/name', 'x');
const valueArb = fc.constantFrom('web', 'db', 'v1.2', 'a_b', 'Z9');

const requirementArb: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({ key: keyArb, op: fc.constantFrom('exists' as const, 'notexists' as const) }),
  fc.record({ key: keyArb, op: fc.constantFrom('in' as const, 'notin' as const), values: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
);

/** One of the spellings kubectl users write for the requirement. */
function format(req: LabelRequirement, style: number): string {
  switch (req.op) {
    case 'exists': return req.key;
    case 'notexists': return `!${req.key}`;
    case 'in':
      if (req.values.length === 1 && style % 3 === 0) return `${req.key}=${req.values[0]}`;
      if (req.values.length === 1 && style % 3 === 1) return `${req.key} == ${req.values[0]}`;
      return `${req.key} in (${req.values.join(', ')})`;
    case 'notin':
      if (req.values.length === 1 && style % 2 === 0) return `${req.key}!=${req.values[0]}`;
      return `${req.key} notin (${req.values.join(',')})`;
  }
}

function reference(reqs: LabelRequirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const v = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    switch (r.op) {
      case 'exists': return v !== undefined;
      case 'notexists': return v === undefined;
      case 'in': return v !== undefined && r.values.includes(v);
      case 'notin': return v === undefined || !r.values.includes(v);
    }
  });
}

test('label selectors: every spelling of a requirement list selects what the definition says', () => {
  fc.assert(fc.property(
    fc.array(requirementArb, { maxLength: 4 }),
    fc.array(fc.nat(5), { minLength: 4, maxLength: 4 }),
    fc.dictionary(keyArb, valueArb),
    (reqs, styles, labels) => {
      const text = reqs.map((r, i) => format(r, styles[i] ?? 0)).join(',');
      assert.equal(labelMatcher(text)(labels), reference(reqs, labels), text);
    },
  ), { numRuns: 500 });
});

test('label selectors: arbitrary text parses or fails with SelectorError, never anything else', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
    try {
      parseLabelSelector(text);
    } catch (e) {
      assert.ok(e instanceof SelectorError, `${JSON.stringify(text)} threw ${String(e)}`);
    }
  }), { numRuns: 1000 });
  assert.throws(() => parseLabelSelector('app in (a'), SelectorError);
  assert.throws(() => parseLabelSelector('bad key=1'), SelectorError);
  assert.throws(() => parseLabelSelector('a=b,'), SelectorError);
});

test('merge patch: null deletes, objects merge, lists and scalars replace', () => {
  const target = { metadata: { name: 'x', labels: { a: '1', b: '2' } }, spec: { ports: [{ port: 80 }, { port: 81 }] } };
  const out = mergePatch(target, { metadata: { labels: { a: null, c: '3' } }, spec: { ports: [{ port: 90 }] } });
  assert.deepEqual(out, { metadata: { name: 'x', labels: { b: '2', c: '3' } }, spec: { ports: [{ port: 90 }] } });
  assert.deepEqual(target.metadata.labels, { a: '1', b: '2' }, 'the target is not modified');
});

test('JSON patch: add, remove, replace, move, copy, test, escaped pointers and errors', () => {
  const doc = { metadata: { annotations: { 'hostmesh.io/mesh': 'true' } }, list: [1, 2, 3] };
  const out = jsonPatch(doc, [
    { op: 'add', path: '/list/-', value: 4 },
    { op: 'add', path: '/list/0', value: 0 },
    { op: 'remove', path: '/list/1' },
    { op: 'replace', path: '/metadata/annotations/hostmesh.io~1mesh', value: 'false' },
    { op: 'copy', from: '/list/0', path: '/first' },
    { op: 'move', from: '/first', path: '/moved' },
    { op: 'test', path: '/moved', value: 0 },
  ]);
  assert.deepEqual(out, { metadata: { annotations: { 'hostmesh.io/mesh': 'false' } }, list: [0, 2, 3, 4], moved: 0 });
  assert.deepEqual(doc.list, [1, 2, 3], 'the target is not modified');
  assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }]), PatchError);
  assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }]), PatchError);
  assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/list/7' }]), PatchError);
  assert.throws(() => jsonPatch(doc, { op: 'add' }), PatchError);
});
