import { isHttpToken } from './tokens.js';
export const LOAD_BALANCERS = ['least-request', 'round-robin', 'random', 'cookie', 'header'];
/** The affinity cookie's name when `cookie` is given without one. */
export const DEFAULT_LB_COOKIE = 'hostmesh-endpoint';
export function validateLoadBalancer(c, v, path) {
    const lb = c.object(v, path);
    if (!lb || !c.oneOf(lb.kind, `${path}.kind`, LOAD_BALANCERS))
        return;
    // Names the proxy writes (Set-Cookie) or reads as a header: HTTP tokens only.
    if (lb.kind === 'cookie' && c.string(lb.cookie, `${path}.cookie`, { nonEmpty: true }) && !isHttpToken(lb.cookie)) {
        c.fail(`${path}.cookie`, `must be a cookie name (an HTTP token), got ${JSON.stringify(lb.cookie)}`);
    }
    if (lb.kind === 'header' && c.string(lb.header, `${path}.header`, { nonEmpty: true }) && !isHttpToken(lb.header)) {
        c.fail(`${path}.header`, `must be a header name (an HTTP token), got ${JSON.stringify(lb.header)}`);
    }
}
