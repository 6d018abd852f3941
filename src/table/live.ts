/**
 * Live traffic, proxy -> controller: a channel beside the watch/ack protocol, which it does not
 * change. Each proxy POSTs a small periodic report (request counts since its last report, tap
 * events); the answer says which taps are active and when to report next.
 *
 *   POST /v1/report  ProxyReport -> 200 ReportAnswer              (Authorization: Bearer <token>)
 *   GET  /v1/stats   -> LiveStats: the last minute, per route and backend   (token)
 *   GET  /v1/tap?route=ns/svc[:port]&path=P&method=M&code=C -> NDJSON TapEvent lines  (token)
 */
import type { PortId } from './types.ts';

export const REPORT_PATH = '/v1/report';
export const STATS_PATH = '/v1/stats';
export const TAP_PATH = '/v1/tap';

/** Requests to one backend of one route since the previous report. */
export interface BackendDelta {
  /** The backend Service name (`BackendStats.backend`). */
  backend: string;
  requests: number;
  /** Answered with a 5xx status (the proxy's own errors included). */
  failures: number;
  /** Per-bucket (not cumulative) request counts for `ProxyReport.bounds`, +Inf last. */
  buckets: number[];
}

export interface RouteDelta {
  route: PortId;
  backends: BackendDelta[];
}

/** One finished request, as a tap shows it. */
export interface TapEvent {
  /** Ids of the subscriptions it matched. */
  taps: string[];
  node: string;
  route: PortId;
  /** RFC 3339 time the response finished. */
  time: string;
  method: string;
  /** Path without the query string, at most 256 characters. */
  path: string;
  status: number;
  latencyMs: number;
  backend: string;
  /** `address:port` of the endpoint tried last; empty when none was picked. */
  endpoint: string;
  client: string;
}

export interface ProxyReport {
  node: string;
  /** hostmesh version of the proxy. */
  software: string;
  /** The proxy has a table applied. */
  ready: boolean;
  /** Upper bounds (seconds) of the latency buckets in `BackendDelta.buckets`. */
  bounds: number[];
  stats: RouteDelta[];
  tap: TapEvent[];
  /** Tap events this proxy dropped since its last report (rate cap, buffer full). */
  tapDropped: number;
}

/** What a proxy taps: one `hostmesh tap` (or `top`) session. */
export interface TapSubscription {
  id: string;
  /** `ns/svc` (every port) or `ns/svc:port`. */
  target: string;
  path?: string;
  method?: string;
  code?: number;
  /** Share of matching requests reported, 0 < sample <= 1. */
  sample: number;
  /** Most events per second per proxy thread. */
  maxPerSecond: number;
}

export interface ReportAnswer {
  taps: TapSubscription[];
  /** When to report next, ms. */
  nextReportMs: number;
}

/** The last minute of one backend of a route, summed over every proxy. */
export interface BackendLive {
  backend: string;
  requests: number;
  /** Share of the route's requests that went to this backend, 0-1 (0 when none). */
  share: number;
  ratePerSecond: number;
  /** Share not answered with a 5xx, 0-1; null without requests. */
  successRate: number | null;
}

export interface RouteLive {
  route: PortId;
  requests: number;
  ratePerSecond: number;
  successRate: number | null;
  /** Latency quantiles in ms, interpolated within buckets; null without requests. */
  p50Ms: number | null;
  p99Ms: number | null;
  backends: BackendLive[];
}

export interface ProxyLive {
  node: string;
  software: string;
  ready: boolean;
  lastReport: string;
}

export interface LiveStats {
  /** Seconds the figures cover (at most 60; less right after start). */
  windowSeconds: number;
  routes: RouteLive[];
  proxies: ProxyLive[];
}

/** `ns/svc[:port]` matches a route id `ns/svc:port`. */
export function tapTargetMatches(target: string, route: PortId): boolean {
  if (target.includes(':')) return target === route;
  return route.length > target.length && route.startsWith(target) && route.charCodeAt(target.length) === 58; /* ':' */
}
