/**
 * Deadlines for the per-request waits of the hot path (a backend's read timeout), kept on one
 * shared ticker instead of a Node timer each: arming, pushing back and clearing one is a few
 * field writes (an intrusive list), with no Timeout object, timer-list insert or clock call into
 * C++ per request. A deadline fires between its time and one tick later; the tick is an eighth
 * of the shortest wait armed so far (10 ms to 250 ms), so a 150 ms timeout fires within about
 * 170 ms and a 60 s one within 60.25 s. The ticker is unref'd and stops once nothing is armed.
 */

/** Something with a deadline; `at` is Date.now() scale, 0 while disarmed. */
export interface Deadline {
  at: number;
  /** Neighbours in the armed list (the ticker's; undefined while disarmed). */
  prev: Deadline | undefined;
  next: Deadline | undefined;
  /** The deadline passed (called once per arming, from the ticker). */
  expire(): void;
}

const MIN_TICK_MS = 10;
const MAX_TICK_MS = 250;

let head: Deadline | undefined;
let ticker: NodeJS.Timeout | undefined;
let tickMs = MAX_TICK_MS;

/** Arms `d` to expire `ms` from now (or pushes its deadline back when armed). */
export function arm(d: Deadline, ms: number): void {
  const was = d.at;
  d.at = Date.now() + ms;
  // Already armed: listed, and the ticker already runs for it.
  if (was !== 0) return;
  d.prev = undefined;
  d.next = head;
  if (head !== undefined) head.prev = d;
  head = d;
  const tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(ms / 8)));
  if (ticker === undefined || tick < tickMs) start(tick);
}

/** Disarms `d` (nothing when it is not armed). */
export function disarm(d: Deadline): void {
  if (d.at === 0) return;
  d.at = 0;
  unlink(d);
}

function unlink(d: Deadline): void {
  const { prev, next } = d;
  if (prev !== undefined) prev.next = next;
  else head = next;
  if (next !== undefined) next.prev = prev;
  d.prev = undefined;
  d.next = undefined;
}

function start(tick: number): void {
  if (ticker !== undefined) clearInterval(ticker);
  tickMs = tick;
  ticker = setInterval(sweep, tick);
  ticker.unref();
}

function sweep(): void {
  if (head === undefined) {
    clearInterval(ticker);
    ticker = undefined;
    tickMs = MAX_TICK_MS;
    return;
  }
  const now = Date.now();
  let due: Deadline[] | undefined;
  for (let d: Deadline | undefined = head; d !== undefined; d = d.next) if (d.at <= now) (due ??= []).push(d);
  if (due === undefined) return;
  for (const d of due) {
    // An earlier expiry in this sweep may have disarmed or re-armed it.
    if (d.at === 0 || d.at > now) continue;
    d.at = 0;
    unlink(d);
    d.expire();
  }
}
