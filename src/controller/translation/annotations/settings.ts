/**
 * The typed settings a Service's annotations resolve to, with every default filled in. This is
 * what translation remembers as a Service's "last good configuration".
 */
import type { LoadBalancer, RateLimitPolicy, RetryPolicy, Scheme, TrafficType } from '../../../table/index.ts';
import type { Diagnostic } from '../diagnostics.ts';

export type SplitSetting =
  /** Caddy Mesh semantics: requests matching `expression` go to `newService`, the rest to `oldService` (or the Service itself). */
  | { kind: 'expression'; expression: string; newService: string; oldService?: string }
  /** Weighted split across Services of the same namespace (the Service itself may be one). */
  | { kind: 'weights'; weights: { service: string; weight: number }[] };

export interface ServiceSettings {
  mesh: boolean;
  /** Absent: http (UDP Service ports are always udp). */
  trafficType?: TrafficType;
  /** Absent: from the port's appProtocol, else http. */
  scheme?: Scheme;
  dialTimeoutMs: number;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  loadBalancer: LoadBalancer;
  passiveHealth: { maxFails: number; failDurationMs: number };
  rateLimit?: RateLimitPolicy;
  split?: SplitSetting;
  stickyCookie?: string;
  mirror?: { service: string; percent: number };
  circuitBreaker?: string;
  /** Reason shown while in maintenance. */
  maintenance?: string;
  /**
   * Annotation keys (as written) of settings that only mean something for HTTP, so that
   * translation can say which were ignored on a tcp or udp port.
   */
  httpOnlyKeys: string[];
}

export const DEFAULT_DIAL_TIMEOUT_MS = 3000;
export const DEFAULT_MAX_FAILS = 1;
export const DEFAULT_FAIL_DURATION_MS = 10_000;

export function defaultSettings(): ServiceSettings {
  return {
    mesh: true,
    dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
    loadBalancer: { kind: 'least-request' },
    passiveHealth: { maxFails: DEFAULT_MAX_FAILS, failDurationMs: DEFAULT_FAIL_DURATION_MS },
    httpOnlyKeys: [],
  };
}

/** What parsing one Service's annotations gives. */
export interface AnnotationResult {
  /** The `mesh` annotation's value when present and valid; it is decided on its own. */
  mesh?: boolean;
  /** The settings when every annotation is valid; undefined when any is invalid (or mesh is false). */
  settings?: ServiceSettings;
  diagnostics: Diagnostic[];
  /** Whether any hostmesh, Caddy Mesh or Traefik Mesh annotation is present. */
  annotated: boolean;
}
