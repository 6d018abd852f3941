/** The load balancer of a cluster (`ClusterEntry.loadBalancer`): how its endpoints are picked. */
import type { Checker } from '../checker.ts';
import { isHttpToken } from './tokens.ts';

export type LoadBalancer =
  | { kind: 'least-request' }
  | { kind: 'round-robin' }
  | { kind: 'random' }
  /** Endpoint affinity through a proxy-set cookie. */
  | { kind: 'cookie'; cookie: string }
  /** Endpoint affinity by hashing a request header (falls back to least-request when absent). */
  | { kind: 'header'; header: string };

export const LOAD_BALANCERS = ['least-request', 'round-robin', 'random', 'cookie', 'header'] as const;

/** The affinity cookie's name when `cookie` is given without one. */
export const DEFAULT_LB_COOKIE = 'hostmesh-endpoint';

export function validateLoadBalancer(c: Checker, v: unknown, path: string): void {
  const lb = c.object(v, path);
  if (!lb || !c.oneOf(lb.kind, `${path}.kind`, LOAD_BALANCERS)) return;
  // Names the proxy writes (Set-Cookie) or reads as a header: HTTP tokens only.
  if (lb.kind === 'cookie' && c.string(lb.cookie, `${path}.cookie`, { nonEmpty: true }) && !isHttpToken(lb.cookie)) {
    c.fail(`${path}.cookie`, `must be a cookie name (an HTTP token), got ${JSON.stringify(lb.cookie)}`);
  }
  if (lb.kind === 'header' && c.string(lb.header, `${path}.header`, { nonEmpty: true }) && !isHttpToken(lb.header)) {
    c.fail(`${path}.header`, `must be a header name (an HTTP token), got ${JSON.stringify(lb.header)}`);
  }
}
