/** The pure parts of the retry policy: failure classes, status ranges, backoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FAILURE_STATUS } from '../../src/proxy/http/failures.ts';
import type { Failure } from '../../src/proxy/http/failures.ts';
import { RETRY_REASONS } from '../../src/proxy/metrics.ts';
import { backoffMs, CONNECT, failureReason, NOT_RETRIABLE, RESET, STATUS, statusMatcher, TIMEOUT } from '../../src/proxy/stages/retry/policy.ts';

test('failures map to retry reasons; the ones another try cannot fix are not retriable', () => {
  const expected: Record<Failure, number> = {
    'dial': CONNECT,
    'dial-timeout': CONNECT,
    'reset': RESET,
    'read-timeout': TIMEOUT,
    'write-timeout': TIMEOUT,
    'no-endpoint': NOT_RETRIABLE,
    'no-backend': NOT_RETRIABLE,
    'request-timeout': NOT_RETRIABLE,
    'bad-response': NOT_RETRIABLE,
    'bad-request': NOT_RETRIABLE,
    'circuit-open': NOT_RETRIABLE,
  };
  assert.deepEqual(Object.keys(expected).toSorted(), Object.keys(FAILURE_STATUS).toSorted(), 'every failure is classified');
  for (const [f, reason] of Object.entries(expected)) assert.equal(failureReason(f as Failure), reason, f);
  assert.equal(RETRY_REASONS[CONNECT], 'connect');
  assert.equal(RETRY_REASONS[RESET], 'reset');
  assert.equal(RETRY_REASONS[TIMEOUT], 'timeout');
  assert.equal(RETRY_REASONS[STATUS], 'status');
});

test('status ranges: a status matches exactly when one inclusive range holds it', () => {
  const range = fc.tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 80 })).map(([a, w]): [number, number] => [a, Math.min(599, a + w)]);
  fc.assert(fc.property(fc.array(range, { maxLength: 5 }), fc.integer({ min: 0, max: 1000 }), (ranges, status) => {
    const expected = ranges.some(([a, b]) => status >= a && status <= b);
    assert.equal(statusMatcher(ranges)(status), expected);
  }));
  assert.equal(statusMatcher([])(503), false);
});

test('backoff: doubles from the base, capped, jittered within the upper half', () => {
  assert.equal(backoffMs(1, 25, 250, () => 1), 25);
  assert.equal(backoffMs(1, 25, 250, () => 0), 12.5);
  assert.equal(backoffMs(2, 25, 250, () => 1), 50);
  assert.equal(backoffMs(4, 25, 250, () => 1), 200);
  assert.equal(backoffMs(5, 25, 250, () => 1), 250);
  fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (retry, r) => {
    const d = backoffMs(retry, 25, 250, () => r);
    const full = Math.min(250, 25 * 2 ** (retry - 1));
    assert.ok(d >= full / 2 && d <= full, `${retry}: ${d}`);
  }));
});
