import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatCodes, formatDuration, formatRate, formatWeights, parseBoolean, parseCodes, parseDuration,
  parseDurationMs, parseEnum, parseInteger, parsePercent, parseRate, parseServiceName, parseToken, parseWeights,
} from '../../src/controller/translation/annotations/values.ts';
import type { CodeRange, Parsed } from '../../src/controller/translation/annotations/values.ts';

const value = <T>(p: Parsed<T>): T => {
  assert.ok(p.ok, `expected a value, got: ${p.ok ? '' : p.reason}`);
  return p.value;
};
const reason = <T>(p: Parsed<T>): string => {
  assert.ok(!p.ok, `expected a failure, got ${JSON.stringify(p.ok && p.value)}`);
  return p.reason;
};

/** Any input, including non-BMP text and the characters the parsers care about. */
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...'0123456789.,-=%:/rsmhnuµμ xX ;'.split('')), maxLength: 20 }),
);

test('durations use Go syntax', () => {
  const cases: [string, number][] = [
    ['300ms', 300], ['3s', 3000], ['1m30s', 90_000], ['1h', 3_600_000], ['1.5h', 5_400_000], ['.5s', 500],
    ['1h2m3.004s', 3_723_004], ['0', 0], ['+5s', 5000], ['1µs', 0.001], ['1μs', 0.001], ['1500us', 1.5], ['2ns', 0.000002],
    ['1s500ms', 1500], ['5.s', 5000],
  ];
  for (const [text, ms] of cases) assert.equal(value(parseDuration(text)), ms, text);
  assert.equal(reason(parseDuration('3 sec')), 'is not a duration (use e.g. 300ms, 3s, 1m30s)');
  assert.match(reason(parseDuration('30')), /no unit/);
  assert.match(reason(parseDuration('3sec')), /unknown unit "sec"/);
  assert.match(reason(parseDuration('-1s')), /negative/);
  for (const bad of ['', 's', '.s', '1.2.3s', '1h 30m', 'ms', '1e3s', '0x10s', '1d']) assert.equal(parseDuration(bad).ok, false, bad);
  assert.match(reason(parseDuration('99999999999h')), /too long/);
});

test('durations in whole milliseconds round sub-millisecond parts up and check the range', () => {
  assert.equal(value(parseDurationMs('250us', 1, 1000)), 1);
  assert.equal(value(parseDurationMs('1.9999s', 1, 10_000)), 2000);
  assert.match(reason(parseDurationMs('0', 1, 1000)), /between 1ms and 1s/);
  assert.match(reason(parseDurationMs('25h', 1, 24 * 3_600_000)), /between 1ms and 24h/);
});

test('property: the duration parser never throws and never returns a negative or non-finite value', () => {
  fc.assert(fc.property(anyText, (s) => {
    const r = parseDuration(s);
    if (r.ok) assert.ok(Number.isFinite(r.value) && r.value >= 0);
    else assert.ok(r.reason.length > 0);
  }), { numRuns: 2000 });
});

test('property: formatted durations parse back to the same milliseconds', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1e10 }), (ms) => {
    assert.equal(value(parseDuration(formatDuration(ms))), ms);
  }), { numRuns: 2000 });
});

test('property: a sequence of Go duration terms sums up', () => {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const term = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(...Object.keys(units)));
  fc.assert(fc.property(fc.array(term, { minLength: 1, maxLength: 5 }), (terms) => {
    const text = terms.map(([n, u]) => `${n}${u}`).join('');
    const expected = terms.reduce((sum, [n, u]) => sum + n * units[u]!, 0);
    assert.equal(value(parseDuration(text)), expected);
  }));
});

test('rates are <n>r/s or <n>r/m', () => {
  assert.deepEqual(value(parseRate('100r/s')), { ratePerSecond: 100, perPeriod: 100, unit: 's' });
  assert.deepEqual(value(parseRate('30r/m')), { ratePerSecond: 0.5, perPeriod: 30, unit: 'm' });
  for (const bad of ['100', '100/s', '10 r/h', 'r/s', '0r/s', '-1r/s', '1.5r/s']) assert.equal(parseRate(bad).ok, false, bad);
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom('s' as const, 'm' as const), (n, unit) => {
    const text = `${n}r/${unit}`;
    assert.equal(formatRate(value(parseRate(text))), text);
  }));
  fc.assert(fc.property(anyText, (s) => { parseRate(s); }), { numRuns: 1000 });
});

test('status codes: lists, ranges, classes and gateway-error, merged', () => {
  assert.deepEqual(value(parseCodes('502,503')), [[502, 503]]);
  assert.deepEqual(value(parseCodes('500-504')), [[500, 504]]);
  assert.deepEqual(value(parseCodes('5xx')), [[500, 599]]);
  assert.deepEqual(value(parseCodes('gateway-error')), [[502, 504]]);
  assert.deepEqual(value(parseCodes('gateway-error, 429, 504 - 505, 4XX')), [[400, 499], [502, 505]]);
  for (const bad of ['', '502,', 'abc', '600', '99', '504-500', '6xx', '5xx,,', '502 503']) assert.equal(parseCodes(bad).ok, false, bad);
});

test('property: codes parse to sorted, disjoint ranges covering exactly the listed codes', () => {
  const code = fc.integer({ min: 100, max: 599 });
  fc.assert(fc.property(fc.array(code, { minLength: 1, maxLength: 12 }), (codes) => {
    const ranges = value(parseCodes(codes.join(',')));
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] > ranges[i - 1]![1] + 1, 'ranges are merged');
    const covered = new Set<number>();
    for (const [a, b] of ranges) for (let c = a; c <= b; c++) covered.add(c);
    assert.deepEqual([...covered].toSorted(), [...new Set(codes)].toSorted());
  }));
});

test('property: formatted code ranges parse back to themselves', () => {
  const ranges = fc.array(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 6 })
    .map((list) => value(parseCodes(list.map(([a, len]) => `${a}-${Math.min(599, a + len)}`).join(','))));
  fc.assert(fc.property(ranges, (r: CodeRange[]) => {
    assert.deepEqual(value(parseCodes(formatCodes(r))), r);
  }));
  fc.assert(fc.property(anyText, (s) => { parseCodes(s); }), { numRuns: 1000 });
});

const serviceName = fc.stringMatching(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/);

test('weights: name=weight pairs of Service names', () => {
  assert.deepEqual(value(parseWeights('server-v1=90,server-v2=10')), [{ service: 'server-v1', weight: 90 }, { service: 'server-v2', weight: 10 }]);
  assert.deepEqual(value(parseWeights(' a = 1 , b=0 ')), [{ service: 'a', weight: 1 }, { service: 'b', weight: 0 }]);
  assert.match(reason(parseWeights('a=1,a=2')), /names a twice/);
  assert.match(reason(parseWeights('a=0,b=0')), /weight 0/);
  assert.match(reason(parseWeights('A=1')), /not a Service name/);
  assert.match(reason(parseWeights('a=x')), /gives a the weight "x"/);
  for (const bad of ['', 'a', 'a=1,', '=1', 'a=1;b=2', 'a=-1', 'a=1000001']) assert.equal(parseWeights(bad).ok, false, bad);
});

test('property: formatted weights parse back to themselves', () => {
  const weights = fc.uniqueArray(fc.record({ service: serviceName, weight: fc.integer({ min: 1, max: 1_000_000 }) }).map((w) => ({ ...w })), { selector: (w) => w.service, minLength: 1, maxLength: 5 });
  fc.assert(fc.property(weights, (w) => {
    assert.deepEqual(value(parseWeights(formatWeights(w))), w);
  }));
  fc.assert(fc.property(anyText, (s) => { parseWeights(s); }), { numRuns: 1000 });
});

test('scalars: booleans, integers, enums, percentages, names and tokens', () => {
  assert.equal(value(parseBoolean('TRUE')), true);
  assert.equal(value(parseBoolean('false')), false);
  assert.equal(parseBoolean('yes').ok, false);
  assert.equal(value(parseInteger('007', 0, 10)), 7);
  assert.match(reason(parseInteger('11', 0, 10)), /between 0 and 10/);
  for (const bad of ['', '-1', '+1', '1.0', '1e3', ' 1', '0x1']) assert.equal(parseInteger(bad, 0, 1e9).ok, false, bad);
  assert.equal(value(parseEnum('H2C', ['http', 'h2c'] as const)), 'h2c');
  assert.equal(value(parsePercent('12.5')), 12.5);
  assert.equal(value(parsePercent('100%')), 100);
  for (const bad of ['', '-1', '100.1', 'ten', '1e2']) assert.equal(parsePercent(bad).ok, false, bad);
  assert.equal(value(parseServiceName('server-v2')), 'server-v2');
  for (const bad of ['Server', '-a', 'a-', '1a', 'a_b', 'a'.repeat(64), '']) assert.equal(parseServiceName(bad).ok, false, bad);
  assert.equal(value(parseToken('hm_backend-1', 'cookie')), 'hm_backend-1');
  for (const bad of ['', 'a b', 'a;b', 'a=b', 'é']) assert.equal(parseToken(bad, 'cookie').ok, false, bad);
});

test('property: no scalar parser throws', () => {
  fc.assert(fc.property(anyText, (s) => {
    parseBoolean(s);
    parseInteger(s, 0, 100);
    parseEnum(s, ['http', 'tcp'] as const);
    parsePercent(s);
    parseServiceName(s);
    parseToken(s, 'header');
    parseDurationMs(s, 1, 1000);
  }), { numRuns: 2000 });
});
