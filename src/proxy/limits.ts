/** Limits and timeouts of the proxy itself (not per Service: those come with the table). */
export interface ProxyLimits {
  /** A client must send a request's complete head within this; trickling clients are cut off (408). */
  headersTimeoutMs: number;
  /** Largest request head (and backend response head) in bytes; larger heads get 431. */
  maxHeaderSize: number;
  /**
   * Plain HTTP/1 requests without a body are read and answered on the raw socket
   * (src/proxy/http/h1-fast.ts); anything else still goes to node:http. False: node:http only.
   */
  fastHttp1: boolean;
  /** Idle time after which a client's keep-alive connection (or HTTP/2 session) is closed. */
  clientKeepAliveTimeoutMs: number;
  /** How often client connections are checked against `headersTimeoutMs`. */
  connectionsCheckingIntervalMs: number;
  /** Concurrent streams a client may open on one HTTP/2 (h2c) connection. */
  h2MaxConcurrentStreams: number;
  /**
   * Rapid-reset guard: streams an h2c client may cancel before its session ends with GOAWAY
   * (once cancelled streams also outnumber completed ones), and the burst and rate of
   * RST_STREAM frames nghttp2 itself accepts.
   */
  h2ResetBudget: number;
  h2ResetRatePerSecond: number;
  /**
   * After a client's h2c session was ended for abuse (rapid reset), new h2c connections from
   * its address are refused (SETTINGS and GOAWAY ENHANCE_YOUR_CALM, then closed) for this long:
   * a rapid-reset client that reconnects costs no new HTTP/2 session. 0: no penalty.
   */
  h2AbusePenaltyMs: number;
  /**
   * Client plus backend connections open at once, per process (`--max-connections`); 0 derives
   * it from the open-file limit minus `fdHeadroom`.
   */
  maxConnections: number;
  /** Client connections admitted at once over all HTTP listeners; 0 derives it (half the connection budget). */
  maxClientConnections: number;
  /** File descriptors kept out of the connection budget (listeners, admin, config, DNS, logs). */
  fdHeadroom: number;
  /** This engine's share of the connection budget (worker threads split the process's). */
  connectionShare: number;
  /** Idle time after which a kept-alive backend connection is closed (keep it below the backends'). */
  upstreamKeepAliveTimeoutMs: number;
  /** Connections per backend endpoint (more requests wait for one); 0 means no limit. */
  upstreamMaxConnectionsPerEndpoint: number;
  /** Concurrent streams on one HTTP/2 (h2c) backend connection. */
  upstreamH2MaxConcurrentStreams: number;
  /** How long a removed listener lets in-flight requests finish before cutting connections. */
  drainTimeoutMs: number;
  /**
   * While draining, how long idle keep-alive connections stay open (a request arriving on one
   * is answered with `Connection: close`) before they are closed: closing one while a client
   * sends on it fails that request. 0 closes them at once. `hostmesh proxy` uses a quarter of
   * --drain-timeout (at most 2 s) for rollouts.
   */
  drainIdleGraceMs: number;
  /** `Retry-After` of 503 answers, in seconds. */
  retryAfterSeconds: number;
  // --- retries, circuit breaker, mirroring (docs/retries.md) ---
  /** Request bodies up to this size are held in memory so a retry or a mirror can send them again. */
  replayBodyBytes: number;
  /** Backoff before the first retry; doubles per retry up to `retryBackoffMaxMs`, jittered. */
  retryBackoffBaseMs: number;
  retryBackoffMaxMs: number;
  /** Mirror copies in flight per route (per worker); copies beyond are dropped. */
  mirrorMaxInFlight: number;
  /** A mirror copy is abandoned after this long, whatever its state. */
  mirrorTimeoutMs: number;
  /** Circuit breaker: rolling window of results (ten buckets), how often the expression is checked, time open, time recovering. */
  breakerWindowMs: number;
  breakerCheckPeriodMs: number;
  breakerFallbackMs: number;
  breakerRecoveryMs: number;
}

export const DEFAULT_LIMITS: Readonly<ProxyLimits> = {
  headersTimeoutMs: 10_000,
  maxHeaderSize: 16 * 1024,
  fastHttp1: true,
  clientKeepAliveTimeoutMs: 60_000,
  connectionsCheckingIntervalMs: 1_000,
  h2MaxConcurrentStreams: 250,
  h2ResetBudget: 200,
  h2ResetRatePerSecond: 50,
  h2AbusePenaltyMs: 10_000,
  maxConnections: 0,
  maxClientConnections: 0,
  fdHeadroom: 128,
  connectionShare: 1,
  upstreamKeepAliveTimeoutMs: 4_000,
  upstreamMaxConnectionsPerEndpoint: 128,
  upstreamH2MaxConcurrentStreams: 100,
  drainTimeoutMs: 10_000,
  drainIdleGraceMs: 0,
  retryAfterSeconds: 5,
  replayBodyBytes: 64 * 1024,
  retryBackoffBaseMs: 25,
  retryBackoffMaxMs: 250,
  mirrorMaxInFlight: 64,
  mirrorTimeoutMs: 5_000,
  breakerWindowMs: 10_000,
  breakerCheckPeriodMs: 100,
  breakerFallbackMs: 10_000,
  breakerRecoveryMs: 10_000,
};
