/**
 * The request as `retry-on` sees it: a MatchRequest (src/expr/context.ts) over the fields the
 * proxy already has, built only for routes whose `retry-on` is a real expression.
 */
import type { Matcher, MatchRequest } from '../../expr/index.ts';
import { compileMatcher, formatExprError } from '../../expr/index.ts';
import type { Exchange, HttpRoute } from '../http/exchange.ts';
import { clientAddress } from '../http/headers.ts';

export function matchRequestOf(ex: Exchange): MatchRequest {
  const req = ex.req;
  const headers = req.headers;
  return {
    method: ex.method,
    url: req.url ?? '/',
    host: headers.host ?? (headers[':authority'] as string | undefined) ?? '',
    headers,
    remoteAddress: clientAddress(req.socket?.remoteAddress),
    remotePort: req.socket?.remotePort,
    httpVersion: req.httpVersion,
    secure: false,
  };
}

/**
 * `retry-on` as a per-request test; undefined when it can never match (`false`, or an
 * expression this proxy cannot compile, which is logged: translation should have refused it).
 */
export function retryOnMatcher(route: HttpRoute, source: string): ((ex: Exchange) => boolean) | undefined {
  const s = source.trim();
  if (s === 'true') return () => true;
  if (s === 'false') return undefined;
  const compiled = compileMatcher(s);
  if (!compiled.ok) {
    route.log.warn({ route: route.id, error: formatExprError(compiled.error) }, 'retry-on does not compile; only connection failures are retried');
    return undefined;
  }
  const match: Matcher = compiled.fn;
  return (ex) => match(matchRequestOf(ex));
}
