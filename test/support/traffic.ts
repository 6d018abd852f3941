/**
 * Sends requests, one every 10 ms and at most `max`, until `done` settles: for a CLI under
 * test (tap, top) that subscribes while traffic flows. Resolves with what `done` resolves to.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function trafficUntil<T>(send: (i: number) => Promise<unknown>, done: Promise<T>, max = 1500): Promise<T> {
  const state = { finished: false };
  const result = done.finally(() => {
    state.finished = true;
  });
  for (let i = 0; i < max; i++) {
    if (state.finished) break;
    await send(i);
    await sleep(10);
  }
  return result;
}
