/** The rate-limit policy (`RouteEntry.rateLimit`): shared defaults. */

/** The key when none is given: one bucket per client address. */
export const DEFAULT_RATE_LIMIT_KEY = '{remote.ip}';
