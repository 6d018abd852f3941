/**
 * `cors` filters (Gateway API CORS): a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered by the proxy, 200 with the allow headers when the
 * origin is allowed and without them when not; an actual request from an allowed origin goes on
 * and its response gets Access-Control-Allow-Origin (and -Credentials, -Expose-Headers).
 * Origins: `*`, exact `scheme://host[:port]`, or a host starting with `*.` (one or more labels).
 * `*` in allowMethods / allowHeaders echoes what the preflight asked for.
 */
import type { CorsFilter } from '../../../table/index.ts';
import type { FilterStep } from './request-headers.ts';

/** Gateway API's default for maxAge, in seconds. */
const DEFAULT_MAX_AGE = 5;

function originTest(patterns: readonly string[]): (origin: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes('*')).map((p) => p.toLowerCase()));
  const wild = patterns.filter((p) => p.includes('*')).map((p) => {
    const [head, tail] = p.toLowerCase().split('*') as [string, string];
    const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^${esc(head)}[a-z0-9-]+(\\.[a-z0-9-]+)*${esc(tail)}$`);
  });
  return (origin) => {
    const o = origin.toLowerCase();
    if (exact.has(o)) return true;
    for (const re of wild) if (re.test(o)) return true;
    return false;
  };
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export function corsStep(f: CorsFilter): FilterStep {
  const allowed = originTest(f.allowOrigins);
  const anyOrigin = f.allowOrigins.includes('*') && f.allowCredentials !== true;
  const credentials = f.allowCredentials === true;
  const methods = f.allowMethods === undefined ? undefined : f.allowMethods.includes('*') ? '*' : f.allowMethods.join(', ');
  const headers = f.allowHeaders === undefined ? undefined : f.allowHeaders.includes('*') ? '*' : f.allowHeaders.join(', ');
  const expose = f.exposeHeaders?.join(', ');
  const maxAge = String(f.maxAgeSeconds ?? DEFAULT_MAX_AGE);
  return (ex) => {
    const origin = ex.req.headers.origin;
    if (typeof origin !== 'string') return true;
    const ok = allowed(origin);
    const allowOrigin = anyOrigin ? '*' : origin;
    const requested = ex.req.headers['access-control-request-method'];
    if (ex.method === 'OPTIONS' && requested !== undefined) {
      const h: Record<string, string> = { 'content-length': '0', vary: 'origin' };
      if (ok) {
        h['access-control-allow-origin'] = allowOrigin;
        const m = methods === '*' ? headerText(requested) : methods;
        if (m !== undefined) h['access-control-allow-methods'] = m;
        const asked = headerText(ex.req.headers['access-control-request-headers']);
        const hs = headers === '*' ? asked : headers;
        if (hs !== undefined) h['access-control-allow-headers'] = hs;
        if (credentials) h['access-control-allow-credentials'] = 'true';
        h['access-control-max-age'] = maxAge;
      }
      ex.respond({ status: 200, headers: h, body: '' });
      return false;
    }
    if (!ok) return true;
    const extra = (ex.extraHeaders ??= []);
    extra.push('access-control-allow-origin', allowOrigin);
    if (!anyOrigin) extra.push('vary', 'origin');
    if (credentials) extra.push('access-control-allow-credentials', 'true');
    if (expose !== undefined) extra.push('access-control-expose-headers', expose);
    return true;
  };
}
