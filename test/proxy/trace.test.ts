/** W3C trace context: the traceparent parser (property-tested against a reference), new traces, header handling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { requestHeaders } from '../../src/proxy/http/headers.ts';
import type { RequestFacts } from '../../src/proxy/http/headers.ts';
import { isValidTraceparent, newTraceparent } from '../../src/proxy/trace.ts';

/** The spec's grammar written as plainly as possible, as the oracle. */
function reference(v: string): boolean {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})([\s\S]*)$/.exec(v);
  if (m === null) return false;
  const [, version, trace, parent, , rest] = m;
  if (version === 'ff' || /^0+$/.test(trace!) || /^0+$/.test(parent!)) return false;
  if (version === '00') return rest === '';
  return rest === '' || rest!.startsWith('-');
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const validV00 = fc.tuple(hex(32), hex(16), hex(2))
  .filter(([trace, parent]) => !/^0+$/.test(trace) && !/^0+$/.test(parent))
  .map(([trace, parent, flags]) => `00-${trace}-${parent}-${flags}`);

/** Small edits of valid values: the interesting neighbourhood for a parser. */
const mutated = fc.tuple(validV00, fc.nat(60), fc.constantFrom('0', 'f', 'F', 'g', '-', ' ', '', 'ff', 'x-y', '\u00e9', '00')).map(([v, at, s]) => {
  const i = at % (v.length + 1);
  return v.slice(0, i) + s + v.slice(i + 1);
});
const versioned = fc.tuple(hex(2), validV00, fc.oneof(fc.constant(''), fc.string({ maxLength: 8 }))).map(([version, v, tail]) => version + v.slice(2) + tail);

test('traceparent parser agrees with the spec grammar on valid, mutated, versioned and random values', () => {
  fc.assert(fc.property(fc.oneof(validV00, mutated, versioned, fc.string({ maxLength: 70 })), (v) => {
    assert.equal(isValidTraceparent(v), reference(v), JSON.stringify(v));
  }), { numRuns: 3000 });
});

test('traceparent parser: the cases the spec calls out', () => {
  const ok = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.equal(isValidTraceparent(ok), true);
  assert.equal(isValidTraceparent(ok.replace('-01', '-00')), true, 'not sampled is still valid');
  assert.equal(isValidTraceparent(ok.toUpperCase()), false, 'upper-case hex is invalid');
  assert.equal(isValidTraceparent(`ff${ok.slice(2)}`), false, 'version ff is invalid');
  assert.equal(isValidTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`), false, 'all-zero trace id');
  assert.equal(isValidTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`), false, 'all-zero parent id');
  assert.equal(isValidTraceparent(`${ok}-extra`), false, 'version 00 has exactly four fields');
  assert.equal(isValidTraceparent(`cc${ok.slice(2)}-what-the-future-brings`), true, 'a later version may add fields');
  assert.equal(isValidTraceparent(`cc${ok.slice(2)}what`), false, 'after a dash only');
  assert.equal(isValidTraceparent(ok.slice(0, 54)), false);
  assert.equal(isValidTraceparent(`${ok}, ${ok}`), false, 'repeated headers joined by a comma');
});

test('new traces: version 00, sampled, valid, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const tp = newTraceparent();
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(isValidTraceparent(tp));
    seen.add(tp.slice(3, 35));
  }
  assert.equal(seen.size, 2000, 'trace ids are unique');
});

function outgoing(raw: string[]): { names: string[]; get: (n: string) => string[]; facts: RequestFacts } {
  const facts: RequestFacts = { hasBody: false };
  const out = requestHeaders(raw, '10.0.0.1', facts);
  const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  const get = (n: string) => out.filter((_, i) => i % 2 === 1 && out[i - 1]!.toLowerCase() === n);
  return { names, get, facts };
}

test('backend request headers: a valid traceparent and its tracestate pass unchanged, anything else starts a trace', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
  const kept = outgoing(['Traceparent', tp, 'tracestate', 'a=1', 'tracestate', 'b=2']);
  assert.deepEqual(kept.get('traceparent'), [tp]);
  assert.deepEqual(kept.get('tracestate'), ['a=1', 'b=2'], 'several tracestate fields are kept as they are');
  assert.equal(kept.facts.traceparent, tp);

  const cases: [string, string[]][] = [
    ['absent', ['accept', '*/*']],
    ['invalid', ['traceparent', '00-xyz', 'tracestate', 'a=1']],
    ['repeated', ['traceparent', tp, 'traceparent', tp]],
    ['tracestate alone', ['tracestate', 'a=1']],
    ['listed in Connection', ['traceparent', tp, 'connection', 'traceparent']],
  ];
  for (const [what, raw] of cases) {
    const o = outgoing(raw);
    const sent = o.get('traceparent');
    assert.equal(sent.length, 1, what);
    assert.notEqual(sent[0], tp, what);
    assert.ok(isValidTraceparent(sent[0]!), what);
    assert.equal(o.facts.traceparent, sent[0], what);
    assert.deepEqual(o.get('tracestate'), [], `${what}: tracestate of another trace is dropped`);
  }
});
