/**
 * Picks the endpoint for the next attempt from the backend cluster's pool, passing the
 * balancer's affinity value (cookie or header) when it uses one, and skipping endpoints this
 * request already tried. With cookie affinity, a response whose endpoint differs from the
 * cookie's sets the cookie to the new endpoint's opaque token.
 */
import { cookieValue, setCookieValue, withSetCookie } from '../http/cookies.js';
import { rawHeader } from '../http/headers.js';
import { NO_ENDPOINT } from './failed-attempt.js';
export const endpointPick = (_ctx, next) => {
    // Reused for every request: pick() reads it synchronously and keeps no reference.
    const hint = { affinity: undefined };
    return (ex, done) => {
        const pool = ex.backend.cluster.pool;
        const lb = pool.loadBalancer;
        let affinity;
        if (lb.kind === 'cookie')
            affinity = cookieValue(ex.req.rawHeaders, lb.cookie);
        else if (lb.kind === 'header')
            affinity = rawHeader(ex.req.rawHeaders, lb.header.toLowerCase());
        hint.affinity = affinity;
        const ep = pool.pick(hint, ex.tried);
        hint.affinity = undefined;
        if (ep === undefined) {
            done(ex, NO_ENDPOINT);
            return;
        }
        if (lb.kind === 'cookie' && ep.token !== affinity) {
            ex.extraHeaders = withSetCookie(ex.extraHeaders, lb.cookie, setCookieValue(lb.cookie, ep.token));
        }
        ex.endpoint = ep;
        next(ex, done);
    };
};
