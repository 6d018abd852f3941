/**
 * The `access` policy of an HTTP route (ACL mode, docs/smi.md) compiled once per route: who may
 * use it, by identity (`namespace/serviceAccount` from the identity map), and which of their
 * requests. (TCP and UDP routes only ask whether an identity is listed: `admits` in
 * l4-listeners.ts.) A source address not in the identity map is denied.
 *
 * The decision for a connection is cached on it (per HTTP connection, keyed by the compiled
 * policy and the identity map's generation), so a keep-alive connection costs one identity
 * lookup until the table or the map changes; a source allowed every request pays nothing more
 * per request, one allowed some requests runs its compiled matches.
 */
import type { AccessPolicy, IdentityEntry } from '../../../table/index.ts';
import { compileMatches } from '../match.ts';
import type { MatchTest, MatchWarn } from '../match.ts';

/** What one identity may do: everything, or the requests a test passes. */
export type Grant = true | MatchTest;

export interface AccessRules {
  /** The grant of an identity; undefined: denied (unknown clients included). */
  grant(identity: IdentityEntry | undefined): Grant | undefined;
}

export function identityName(identity: IdentityEntry): string {
  return `${identity.namespace}/${identity.serviceAccount}`;
}

export function compileAccess(policy: AccessPolicy, at: string, warn: MatchWarn): AccessRules {
  const grants = new Map<string, Grant>();
  policy.allow.forEach((s, i) => {
    const key = `${s.namespace}/${s.serviceAccount}`;
    grants.set(key, s.matches === undefined ? true : compileMatches(s.matches, `${at}.allow[${i}]`, warn));
  });
  return {
    grant: (identity) => (identity === undefined ? undefined : grants.get(identityName(identity))),
  };
}
