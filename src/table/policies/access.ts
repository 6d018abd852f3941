/**
 * Access control (`RouteEntry.access`): ACL mode. When present the route denies every client
 * except the identities listed (namespace and ServiceAccount, found by the proxy from the
 * connection's source address in the table's identity map); an unknown address is denied. On
 * http routes a listed source may be limited to requests matching `matches`; tcp and udp routes
 * allow or deny whole connections (sessions). The controller writes it from SMI TrafficTargets
 * in ACL mode (docs/smi.md); absent, the route allows everyone.
 */
import type { HttpMatch } from '../rules.ts';
import { checkHttpMatches } from '../matches.ts';
import type { RoutePolicy } from './policy.ts';

export interface AccessPolicy {
  /** The identities allowed, sorted by namespace and ServiceAccount; empty: everyone is denied. */
  allow: AccessSource[];
}

export interface AccessSource {
  namespace: string;
  serviceAccount: string;
  /**
   * http routes only: the requests of this source that are allowed (any one of them matches).
   * Absent: every request.
   */
  matches?: HttpMatch[];
  /** What grants it, for diagnostics and logs, e.g. `TrafficTarget whoami/client-api`. */
  origins?: string[];
}

export const ACCESS: RoutePolicy<'access'> = {
  field: 'access',
  httpOnly: false,
  validate: (v, { c, path, route }) => {
    const a = c.object(v, path);
    if (!a) return;
    const seen = new Set<string>();
    c.array(a.allow, `${path}.allow`).forEach((sv, i) => {
      const at = `${path}.allow[${i}]`;
      const s = c.object(sv, at);
      if (!s) return;
      const nsOk = c.string(s.namespace, `${at}.namespace`, { nonEmpty: true });
      const saOk = c.string(s.serviceAccount, `${at}.serviceAccount`, { nonEmpty: true });
      if (nsOk && saOk) {
        const key = `${s.namespace}/${s.serviceAccount}`;
        if (seen.has(key)) c.fail(at, `lists ${key} twice`);
        seen.add(key);
      }
      if (c.optional(s, 'matches')) {
        if (route.protocol !== 'http') c.fail(`${at}.matches`, `only http routes match requests, this route is ${String(route.protocol)}`);
        else checkHttpMatches(c, s.matches, `${at}.matches`);
      }
      if (c.optional(s, 'origins')) c.array(s.origins, `${at}.origins`).forEach((o, k) => c.string(o, `${at}.origins[${k}]`));
    });
  },
};
