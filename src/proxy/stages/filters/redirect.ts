/**
 * `redirect` filters (Gateway API RequestRedirect): the proxy answers 301/302/303/307/308 with a
 * Location and contacts no backend. The Location keeps what the filter does not change:
 * scheme (`https` on a TLS connection, else `http`), the Host header's hostname, the path and
 * the query. The port is the filter's; without one, the well-known port of the filter's scheme
 * when it sets a scheme, else the port the client addressed (the Host header's, else the
 * Service port). Port 80 for http and 443 for https are left out of the Location.
 */
import type { TLSSocket } from 'node:tls';
import type { RedirectFilter } from '../../../table/index.ts';
import type { HttpRoute } from '../../http/exchange.ts';
import { replacePath, splitTarget } from './path.ts';
import type { FilterStep } from './request-headers.ts';

function defaultPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

/** The hostname and port of a Host header value (`[v6]:port`, `name:port`, `name`). */
export function splitHost(host: string): [hostname: string, port: number | undefined] {
  const close = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.lastIndexOf(':');
  if (colon < 0 || colon < close || (close < 0 && host.indexOf(':') !== colon)) return [host, undefined];
  const port = Number(host.slice(colon + 1));
  return [host.slice(0, colon), Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined];
}

function forUrl(hostname: string): string {
  return hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
}

export function redirectStep(f: RedirectFilter, route: HttpRoute): FilterStep {
  const status = f.statusCode;
  const servicePort = route.entry.port;
  return (ex) => {
    const req = ex.req;
    const hostHeader = req.headers.host ?? req.headers[':authority'];
    const [hostname, hostPort] = splitHost(typeof hostHeader === 'string' ? hostHeader : '');
    const scheme = f.scheme ?? ((req.socket as TLSSocket).encrypted === true ? 'https' : 'http');
    const port = f.port ?? (f.scheme !== undefined ? defaultPort(scheme) : hostPort ?? servicePort);
    const [path, query] = splitTarget(req.url ?? '/');
    const to = f.path === undefined ? path : replacePath(f.path, path, ex.prefixLength);
    const host = forUrl(f.hostname ?? (hostname === '' ? route.entry.service : hostname));
    const location = `${scheme}://${host}${port === defaultPort(scheme) ? '' : `:${port}`}${to}${query}`;
    ex.respond({ status, headers: { location, 'content-length': '0' }, body: '' });
    return false;
  };
}
