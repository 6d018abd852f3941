/**
 * Sticky cookie (`RouteEntry.stickyCookie`): pins a client to the backend cluster it was first
 * sent to. The cookie value is an opaque HMAC of the route and the cluster under the engine's
 * affinity secret (the scheme of the `cookie` balancer's endpoint tokens), so it names no
 * Service and cannot be made up. A value is only honoured within one set of candidates (the
 * matched rule's backends, or the route's): a cookie of another route, or one naming a cluster
 * the request may not go to, is simply not found there.
 */
import { affinityToken } from '../../endpoints/hash.js';
import { cookieValue, setCookieValue } from '../../http/cookies.js';
/** The cookie value naming `clusterId` on `routeId` (16 base64url characters). */
export function stickyToken(secret, routeId, clusterId) {
    // The `sticky:` prefix keeps these apart from endpoint tokens, which hash `clusterId|address`.
    return affinityToken(secret, `sticky:${routeId}`, clusterId);
}
/** Whether a backend has an endpoint that is not resting (passive health). */
export function healthy(b) {
    const pool = b.cluster.pool;
    for (const ep of pool.endpoints)
        if (!pool.isResting(ep))
            return true;
    return false;
}
/** One set of candidate backends: which cookie values pin to which of them. */
export class StickyGroup {
    #byToken = new Map();
    #setCookie = new Map();
    constructor(cookie, backends) {
        for (const b of backends) {
            // A backend of weight 0 takes no new clients, and its pinned clients move off it.
            if (b.weight <= 0)
                continue;
            const token = cookie.token(b.cluster.id);
            this.#byToken.set(token, b);
            this.#setCookie.set(b, setCookieValue(cookie.name, token));
        }
    }
    /** The backend a cookie value pins to, if it is one of this group's and healthy. */
    pinned(value) {
        if (value === undefined)
            return undefined;
        const b = this.#byToken.get(value);
        return b !== undefined && healthy(b) ? b : undefined;
    }
    /** The `Set-Cookie` value pinning a client to `b` (a backend of this group). */
    setCookie(b) {
        return this.#setCookie.get(b);
    }
}
/** A route's sticky cookie: its name and how its values are made. */
export class StickyCookie {
    name;
    #routeId;
    #secret;
    constructor(name, routeId, secret) {
        this.name = name;
        this.#routeId = routeId;
        this.#secret = secret;
    }
    token(clusterId) {
        return stickyToken(this.#secret, this.#routeId, clusterId);
    }
    group(backends) {
        return new StickyGroup(this, backends);
    }
    /** The cookie's value in a request (the first one when repeated). */
    read(req) {
        return cookieValue(req.rawHeaders, this.name);
    }
}
