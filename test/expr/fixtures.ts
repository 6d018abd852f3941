/** Requests and breaker statistics for the expression tests. */
import type { BreakerStats, MatchRequest } from '../../src/expr/index.ts';

type Headers = Record<string, string | string[] | undefined>;

/** A GET of `/` over HTTP/1.1 from 10.0.0.1, with `over` applied. */
export function request(over: Partial<Omit<MatchRequest, 'headers'>> & { headers?: Headers } = {}): MatchRequest {
  return {
    method: 'GET',
    url: '/',
    host: 'server.test.hostmesh',
    headers: {},
    remoteAddress: '10.0.0.1',
    httpVersion: '1.1',
    secure: false,
    ...over,
  };
}

/** Fixed statistics; records the arguments each function was called with. */
export function stats(values: { network?: number; codes?: number; latency?: number } = {}): BreakerStats & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    networkErrorRatio() {
      calls.push('NetworkErrorRatio()');
      return values.network ?? 0;
    },
    responseCodeRatio(from, to, byFrom, byTo) {
      calls.push(`ResponseCodeRatio(${from},${to},${byFrom},${byTo})`);
      return values.codes ?? 0;
    },
    latencyAtQuantileMS(q) {
      calls.push(`LatencyAtQuantileMS(${q})`);
      return values.latency ?? 0;
    },
  };
}
