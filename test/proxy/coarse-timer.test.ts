/** The shared ticker behind the hot path's read timeouts (src/proxy/http/coarse-timer.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { arm, disarm } from '../../src/proxy/http/coarse-timer.ts';
import type { Deadline } from '../../src/proxy/http/coarse-timer.ts';

function deadline(): Deadline & { fired: number } {
  const d: Deadline & { fired: number } = { at: 0, prev: undefined, next: undefined, fired: 0, expire(): void { d.fired++; } };
  return d;
}

test('armed deadlines expire once, disarmed and pushed-back ones do not (yet)', async () => {
  const expires = deadline();
  const disarmed = deadline();
  const pushed = deadline();
  arm(expires, 40);
  arm(disarmed, 40);
  arm(pushed, 40);
  disarm(disarmed);
  assert.equal(disarmed.at, 0);
  // Pushed back well past the first one's time, as a read timeout is on every body chunk.
  arm(pushed, 5000);
  // Keeps a Node timer pending: the ticker is unref'd and would not hold the test open.
  await sleep(300);
  assert.equal(expires.fired, 1);
  assert.equal(expires.at, 0, 'an expired deadline is disarmed');
  assert.equal(disarmed.fired, 0);
  assert.equal(pushed.fired, 0);
  disarm(pushed);
  // Re-armed after expiring: it expires again.
  arm(expires, 20);
  await sleep(300);
  assert.equal(expires.fired, 2);
});
