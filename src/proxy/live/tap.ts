/**
 * Tap on the proxy side: request summaries for the Services someone taps, bounded.
 *
 * Off the hot path when nobody taps: a route carries a `RouteTap` only while a subscription
 * matches it, and a finished request costs one property check otherwise
 * (`Exchange.finish`). A tapped request is filtered, sampled and counted against the
 * subscription's per-second cap before anything is allocated; events wait in a bounded buffer
 * until the next report drains them.
 */
import { tapTargetMatches } from '../../table/live.ts';
import type { TapEvent, TapSubscription } from '../../table/live.ts';
import type { Exchange } from '../http/exchange.ts';
import type { RouteStats } from '../metrics.ts';

/** Events kept between two drains; more are dropped (and counted). */
export const TAP_BUFFER = 2000;
const MAX_PATH = 256;

class TapSlot {
  readonly sub: TapSubscription;
  /** Events let through in the current second. */
  count = 0;
  second = 0;

  constructor(sub: TapSubscription) {
    this.sub = sub;
  }
}

/** The subscriptions that match one route. */
export class RouteTap {
  readonly #route: string;
  readonly #slots: TapSlot[];
  readonly #sink: TapBuffer;

  constructor(route: string, slots: TapSlot[], sink: TapBuffer) {
    this.#route = route;
    this.#slots = slots;
    this.#sink = sink;
  }

  /** A finished request of the route (status set). */
  offer(ex: Exchange): void {
    // Nothing drained the buffer yet: drop before doing any work.
    if (this.#sink.events.length >= TAP_BUFFER) {
      this.#sink.dropped++;
      return;
    }
    const url = ex.req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let ids: string[] | undefined;
    let second = 0;
    for (const slot of this.#slots) {
      const s = slot.sub;
      if (s.method !== undefined && s.method !== ex.method) continue;
      if (s.code !== undefined && s.code !== ex.status) continue;
      if (s.path !== undefined && !path.startsWith(s.path)) continue;
      if (s.sample < 1 && Math.random() >= s.sample) continue;
      if (second === 0) second = Math.floor(Date.now() / 1000);
      if (slot.second !== second) {
        slot.second = second;
        slot.count = 0;
      }
      if (slot.count >= s.maxPerSecond) {
        this.#sink.dropped++;
        continue;
      }
      slot.count++;
      (ids ??= []).push(s.id);
    }
    if (ids === undefined) return;
    const endpoint = ex.endpoint;
    this.#sink.push({
      taps: ids,
      node: '',
      route: this.#route,
      time: new Date().toISOString(),
      method: ex.method,
      path: path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path,
      status: ex.status,
      latencyMs: Math.round((performance.now() - ex.start) * 1000) / 1000,
      backend: ex.backend?.stats.backend ?? ex.route.defaultStats.backend,
      endpoint: endpoint === undefined ? '' : endpoint.key,
      client: ex.client ?? ex.req.socket?.remoteAddress ?? 'unknown',
    });
  }
}

/** Events waiting for the next report. */
export class TapBuffer {
  events: TapEvent[] = [];
  dropped = 0;

  push(e: TapEvent): void {
    if (this.events.length >= TAP_BUFFER) this.dropped++;
    else this.events.push(e);
  }

  drain(): { events: TapEvent[]; dropped: number } {
    const out = { events: this.events, dropped: this.dropped };
    this.events = [];
    this.dropped = 0;
    return out;
  }
}

/**
 * The active subscriptions of one proxy thread, installed on the routes they match. `sync` is
 * called at every report (so routes a new table adds get their tap then).
 */
export class TapRegistry {
  readonly buffer = new TapBuffer();
  /** Slots by subscription id: rate windows survive a re-sync. */
  #slots = new Map<string, TapSlot>();
  #tapped = new Set<RouteStats>();

  sync(subs: readonly TapSubscription[], routes: Iterable<[string, RouteStats]>): void {
    if (subs.length === 0 && this.#tapped.size === 0) return;
    const slots = new Map<string, TapSlot>();
    for (const s of subs) slots.set(s.id, this.#slots.get(s.id) ?? new TapSlot(s));
    this.#slots = slots;
    const tapped = new Set<RouteStats>();
    if (slots.size > 0) {
      for (const [id, stats] of routes) {
        if (!stats.http) continue;
        const matching = [...slots.values()].filter((slot) => tapTargetMatches(slot.sub.target, id));
        if (matching.length === 0) continue;
        stats.tap = new RouteTap(id, matching, this.buffer);
        tapped.add(stats);
      }
    }
    for (const stats of this.#tapped) if (!tapped.has(stats)) stats.tap = undefined;
    this.#tapped = tapped;
    if (slots.size === 0) this.buffer.drain();
  }

  /** Installs the active subscriptions on one route that became visible between syncs (built on its first request). */
  attach(id: string, stats: RouteStats): void {
    if (this.#slots.size === 0 || !stats.http) return;
    const matching = [...this.#slots.values()].filter((slot) => tapTargetMatches(slot.sub.target, id));
    if (matching.length === 0) return;
    stats.tap = new RouteTap(id, matching, this.buffer);
    this.#tapped.add(stats);
  }
}
