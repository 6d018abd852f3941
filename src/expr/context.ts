/**
 * What compiled expressions read. The proxy builds one MatchRequest per request (cheaply: plain
 * fields it already has) and one BreakerStats per route; the closures only read them.
 */

/** The three kinds of expression, one per annotation family. */
export type ExprContext = 'matcher' | 'breaker' | 'key';

export interface MatchRequest {
  /** Upper-case, e.g. `GET`. */
  readonly method: string;
  /** Request target as received: `/path?query` (absolute-form `http://h/p?q` is tolerated). */
  readonly url: string;
  /** Host header or `:authority`, may include `:port`. */
  readonly host: string;
  /** Lower-case names, as node:http gives them (repeated fields joined, `set-cookie` an array). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Client IP; IPv4-mapped IPv6 already unwrapped by the proxy. */
  readonly remoteAddress: string;
  /** Client port, when the proxy knows it (only `{remote.port}` reads it). */
  readonly remotePort?: number;
  /** `1.0` | `1.1` | `2.0`. */
  readonly httpVersion: string;
  /** TLS from the client (false for mesh traffic today). */
  readonly secure: boolean;
}

/**
 * Implemented by the proxy's breaker stage over a rolling window, with Traefik's semantics.
 */
export interface BreakerStats {
  /** Share of attempts that failed before a response (refused, reset, timed out), 0..1. */
  networkErrorRatio(): number;
  /**
   * Responses with a status in [from, to) divided by responses with a status in
   * [dividedByFrom, dividedByTo); 0 when the divisor is 0.
   */
  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number;
  /** Latency at a quantile given in percent (50 = median), in milliseconds. */
  latencyAtQuantileMS(quantile: number): number;
}
