/** The documented defaults of issue 16: timeouts, caps and budgets (values, not durations). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/proxy/limits.ts';
import { connectionBudget, fdBudget, openFileLimit } from '../../src/proxy/overload.ts';
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
