/**
 * ACL mode on an HTTP route (`RouteEntry.access`, docs/smi.md): early in the pipeline (after
 * access log, trace and metrics, so a denial is logged and counted), a request passes only when
 * the client's identity (its source address in the identity map) is allowed and, when its
 * grant is limited to some requests, one of them matches. A denied request gets 403 with a
 * short body naming the Service (JSON when the client asks) and never reaches a backend; it is
 * counted in `hostmesh_acl_denied_total` by source identity.
 *
 * The grant is looked up once per connection and cached on its socket with the compiled policy
 * and the identity map's generation it came from, so a new table or a changed map (a Pod or a
 * TrafficTarget added or removed) applies to the next request of a kept-alive connection. The
 * identity itself comes from the connection's cached lookup (`connectionIdentity`), which the
 * access log shares: a new table with the same map decides again without a new lookup.
 */
import type { IdentityEntry } from '../../../table/index.ts';
import { servicePage } from '../../http/error-page.ts';
import type { Exchange } from '../../http/exchange.ts';
import { clientAddress } from '../../http/headers.ts';
import { connectionIdentity } from '../../identity.ts';
import { MatchInput } from '../match.ts';
import type { Stage } from '../types.ts';
import { compileAccess, identityName } from './rules.ts';
import type { AccessRules, Grant } from './rules.ts';

const DECISION = Symbol('hostmesh.access');

interface Decision {
  rules: AccessRules;
  generation: number;
  identity: IdentityEntry | undefined;
  grant: Grant | undefined;
}

interface Cached {
  [DECISION]?: Decision;
}

export const access: Stage = (ctx, next) => {
  const route = ctx.route;
  const policy = route.entry.access;
  if (policy === undefined) return next;
  const rules = compileAccess(policy, `route ${route.id}: access`, (what, message) => {
    route.warnings.push(`${what}: ${message}; the source it belongs to is denied those requests`);
  });
  const identities = route.identities;
  const stats = route.stats;
  const input = new MatchInput();

  const decide = (ex: Exchange): Decision => {
    const socket = ex.req.socket as typeof ex.req.socket & Cached;
    const generation = identities?.generation ?? 0;
    const cached = socket[DECISION];
    if (cached !== undefined && cached.rules === rules && cached.generation === generation) return cached;
    const identity = identities === undefined ? undefined : connectionIdentity(identities, socket);
    const d: Decision = { rules, generation, identity, grant: rules.grant(identity) };
    socket[DECISION] = d;
    return d;
  };

  const deny = (ex: Exchange, identity: IdentityEntry | undefined): void => {
    stats.aclDenied(identity);
    const who = identity === undefined ? `a client it does not know (${clientAddress(ex.req.socket.remoteAddress)} is not a pod of the mesh)` : `ServiceAccount ${identityName(identity)}`;
    const reason = `denies this request from ${who}: ACL mode, and no TrafficTarget allows it`;
    ex.respond(servicePage(403, route.id, undefined, reason, ex.req.headers.accept, route.retryAfterSeconds));
  };

  return {
    handle: (ex) => {
      const d = decide(ex);
      const grant = d.grant;
      if (grant === true) return next.handle(ex);
      if (grant !== undefined) {
        input.bind(ex.req, ex.method);
        const ok = grant(input);
        input.unbind();
        if (ok) return next.handle(ex);
      }
      deny(ex, d.identity);
    },
    complete: next.complete,
  };
};
