/** The documented defaults of issue 16: timeouts, caps and budgets (values, not durations). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../src/proxy/limits.ts';
import { KEEP_ALIVE_MARGIN_MS, keepAliveHintMs } from '../../src/proxy/http/keep-alive.ts';
import { OverloadManager, connectionBudget, fdBudget, openFileLimit } from '../../src/proxy/overload.ts';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_READ_TIMEOUT_MS, httpBodyTimeoutMs, httpReadTimeoutMs } from '../../src/proxy/http/timeouts.ts';
import { validateTable } from '../../src/table/index.ts';
import { cluster, simpleTable } from '../support/tables.ts';

test('HTTP read and body timeouts default to 60 s; a Service value overrides; 0 (set on purpose) means none', () => {
  assert.equal(DEFAULT_READ_TIMEOUT_MS, 60_000);
  assert.equal(DEFAULT_BODY_TIMEOUT_MS, 60_000);
  assert.equal(httpReadTimeoutMs(undefined), 60_000);
  assert.equal(httpReadTimeoutMs(250), 250);
  assert.equal(httpReadTimeoutMs(0), undefined);
  assert.equal(httpBodyTimeoutMs(undefined), 60_000);
  assert.equal(httpBodyTimeoutMs(0), undefined);
  const t = simpleTable([{ cluster: cluster('a', 'b', 80, [], { readTimeoutMs: 0, bodyTimeoutMs: 0, writeTimeoutMs: 0 }), listenPort: 15000 }]);
  assert.equal(validateTable(JSON.parse(JSON.stringify(t))).ok, true, 'tables carry 0 to turn a default off');
});

test('the connection budget comes from the real open-file limit, minus headroom, halved, split over workers', () => {
  assert.equal(openFileLimit('Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n'), 1024);
  assert.equal(openFileLimit('Max open files            unlimited            unlimited            files\n'), undefined);
  const limits = { maxConnections: 0, maxClientConnections: 0, fdHeadroom: 128 };
  assert.equal(fdBudget(limits, 1024), 896, 'client plus backend connections: the fd limit minus headroom');
  assert.equal(fdBudget({ ...limits, maxConnections: 300 }, 1024, 0.5), 150, '--max-connections sets it, split over workers');
  assert.equal(connectionBudget({ ...limits, maxConnections: 300 }, 1024), 150, 'clients get half of a configured budget');
  assert.equal(connectionBudget(limits, 1024), 448);
  assert.equal(connectionBudget(limits, 1024, 0.5), 224);
  assert.equal(connectionBudget({ ...limits, maxClientConnections: 100 }, 1024), 100, 'a configured maximum below the fd budget wins');
  assert.equal(connectionBudget({ ...limits, maxClientConnections: 10_000 }, 1024), 448, 'never above what the fds allow');
  assert.equal(typeof openFileLimit(), 'number', 'read from /proc/self/limits on Linux');
  assert.equal(DEFAULT_LIMITS.upstreamMaxConnectionsPerEndpoint, 128, 'backend connections per endpoint are capped by default');
});

test('Keep-Alive hints: timeout=N allows N s minus a 2 s margin, capped by the proxy\'s own idle limit; too short means do not keep', () => {
  assert.equal(keepAliveHintMs('timeout=5', 4000), 3000);
  assert.equal(keepAliveHintMs('timeout=5, max=100', 60_000), 3000);
  assert.equal(keepAliveHintMs('max=100; Timeout = 10', 60_000), 8000);
  assert.equal(keepAliveHintMs('timeout=600', 4000), 4000, 'a long hint never extends the proxy\'s limit');
  assert.equal(keepAliveHintMs('timeout=1', 4000), 0, 'shorter than the margin: close after the response');
  assert.equal(keepAliveHintMs(['max=5', 'timeout=3'], 4000), 1000);
  for (const none of [undefined, '', 'max=5', 'timeout=', 'timeout=x', 'notimeout=5']) assert.equal(keepAliveHintMs(none, 4000), undefined, String(none));
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 600_000 }), (n, cap) => {
    const ms = keepAliveHintMs(`timeout=${n}`, cap)!;
    assert.ok(ms >= 0 && ms <= cap && ms <= Math.max(0, n * 1000 - KEEP_ALIVE_MARGIN_MS));
  }));
});

test('the h2c abuse penalty is per address, off at 0 ms, and remembers a bounded number of addresses (the oldest forgotten first)', () => {
  const o = new OverloadManager(DEFAULT_LIMITS, undefined, { fdLimit: 1024 });
  assert.equal(DEFAULT_LIMITS.h2AbusePenaltyMs, 10_000);
  o.penalize('10.0.0.1', 0);
  o.penalize(undefined, 60_000);
  assert.equal(o.penalized('10.0.0.1'), false);
  assert.equal(o.penalized(undefined), false);
  for (let i = 0; i < 5000; i++) o.penalize(`10.1.${i >> 8}.${i & 255}`, 60_000);
  assert.equal(o.penalized('10.1.0.0'), false, 'the oldest penalties are forgotten past the bound');
  assert.equal(o.penalized('10.1.19.135'), true, 'the newest is kept (10.1.19.135 is the 5,000th)');
  assert.equal(o.penalized('10.2.0.1'), false);
});
