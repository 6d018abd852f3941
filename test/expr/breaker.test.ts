/**
 * Circuit-breaker expressions: Traefik Mesh's examples and operators, evaluated over fixed
 * statistics, and the exact calls made to the proxy's BreakerStats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileBreaker, formatExprError } from '../../src/expr/index.ts';
import { stats } from './fixtures.ts';

type Row = [string, Parameters<typeof stats>[0], boolean];

function check(rows: Row[]): void {
  const wrong: string[] = [];
  for (const [source, values, want] of rows) {
    const r = compileBreaker(source);
    if (!r.ok) {
      wrong.push(`${source}: did not compile: ${formatExprError(r.error)}`);
      continue;
    }
    const got = r.fn(stats(values));
    if (got !== want) wrong.push(`${source} with ${JSON.stringify(values)}: got ${got}, want ${want}`);
  }
  assert.deepEqual(wrong, []);
}

test('Traefik Mesh breaker examples', () => {
  check([
    ['NetworkErrorRatio() > 0.30', { network: 0.31 }, true],
    ['NetworkErrorRatio() > 0.30', { network: 0.30 }, false],
    ['NetworkErrorRatio() > 0.30', { network: 0 }, false],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.25', { codes: 0.26 }, true],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.25', { codes: 0.25 }, false],
    ['LatencyAtQuantileMS(50.0) > 100', { latency: 101 }, true],
    ['LatencyAtQuantileMS(50.0) > 100', { latency: 100 }, false],
    // Traefik compares whole milliseconds: 100.9 ms is 100.
    ['LatencyAtQuantileMS(50.0) > 100', { latency: 100.9 }, false],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10', { codes: 0.1, network: 0.2 }, true],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10', { codes: 0.1, network: 0.05 }, false],
    ['NetworkErrorRatio() > 0.5 && LatencyAtQuantileMS(99.9) > 250', { network: 0.6, latency: 300 }, true],
    ['NetworkErrorRatio() > 0.5 && LatencyAtQuantileMS(99.9) > 250', { network: 0.6, latency: 200 }, false],
  ]);
});

test('every comparison operator, !, parentheses and integer quantiles', () => {
  check([
    ['NetworkErrorRatio() >= 0.5', { network: 0.5 }, true],
    ['NetworkErrorRatio() < 0.5', { network: 0.5 }, false],
    ['NetworkErrorRatio() <= 0.5', { network: 0.5 }, true],
    ['NetworkErrorRatio() == 0', { network: 0 }, true],
    ['NetworkErrorRatio() != 0', { network: 0 }, false],
    ['0.5 < NetworkErrorRatio()', { network: 0.6 }, true],
    ['!(NetworkErrorRatio() > 0.1)', { network: 0.2 }, false],
    ['(NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(50) > 10) && ResponseCodeRatio(500, 600, 0, 600) > 0.5', { network: 0.2, codes: 0.6 }, true],
    ['LatencyAtQuantileMS(50) > LatencyAtQuantileMS(90)', { latency: 5 }, false],
    ['true', {}, true],
    ['false || NetworkErrorRatio() > 0', { network: 0.01 }, true],
  ]);
});

test('arguments reach BreakerStats as written, and && stops early', () => {
  const r = compileBreaker('ResponseCodeRatio(400, 500, 0, 600) > 0.1 && LatencyAtQuantileMS(99.9) > 5');
  assert.ok(r.ok);
  const s = stats({ codes: 0.2, latency: 10 });
  assert.equal(r.fn(s), true);
  assert.deepEqual(s.calls, ['ResponseCodeRatio(400,500,0,600)', 'LatencyAtQuantileMS(99.9)']);
  const low = stats({ codes: 0 });
  assert.equal(r.fn(low), false);
  assert.deepEqual(low.calls, ['ResponseCodeRatio(400,500,0,600)']);
});

test('breaker arguments are checked: ranges, integers, quantiles', () => {
  const cases: [string, string, RegExp][] = [
    ['ResponseCodeRatio(600, 500, 0, 600) > 0.1', 'EXPR_ARG_VALUE', /range \[600, 500\) is empty/],
    ['ResponseCodeRatio(500, 600, 600, 0) > 0.1', 'EXPR_ARG_VALUE', /range \[600, 0\) is empty/],
    ['ResponseCodeRatio(500.5, 600, 0, 600) > 0.1', 'EXPR_ARG_VALUE', /whole number from 0 to 1000/],
    ['ResponseCodeRatio(-1, 600, 0, 600) > 0.1', 'EXPR_ARG_VALUE', /whole number/],
    ['ResponseCodeRatio(500, 600) > 0.1', 'EXPR_ARITY', /takes 4 arguments, found 2/],
    ['ResponseCodeRatio(\'500\', 600, 0, 600) > 0.1', 'EXPR_ARG_TYPE', /first argument \(a status code\) must be a number, found the string "500"/],
    ['LatencyAtQuantileMS(150) > 1', 'EXPR_ARG_VALUE', /percentage from 0 to 100/],
    ['LatencyAtQuantileMS() > 1', 'EXPR_ARITY', /takes 1 argument, found 0/],
    ['NetworkErrorRatio(1) > 1', 'EXPR_ARITY', /takes no arguments, found 1/],
    ['NetworkErrorRatio > 0.3', 'EXPR_SYNTAX', /NetworkErrorRatio is a function: call it/],
  ];
  for (const [source, code, message] of cases) {
    const r = compileBreaker(source);
    assert.equal(r.ok, false, source);
    if (!r.ok) {
      assert.equal(r.error.code, code, source);
      assert.match(r.error.message, message, source);
    }
  }
});
