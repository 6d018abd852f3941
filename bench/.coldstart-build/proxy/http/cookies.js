/**
 * Cookies the proxy reads and sets itself: the sticky-backend cookie (stages/backend-choice/)
 * and the `cookie` balancer's endpoint-affinity cookie (stages/endpoint-pick.ts).
 */
/** Attributes of every cookie the proxy sets: a session cookie for the whole host, not for scripts. */
const ATTRIBUTES = '; Path=/; HttpOnly; SameSite=Lax';
/** The `Set-Cookie` value giving cookie `name` the value `value`. */
export function setCookieValue(name, value) {
    return `${name}=${value}${ATTRIBUTES}`;
}
function isSpace(c) {
    return c === 32 || c === 9;
}
/**
 * The first value of cookie `name` in raw request headers (every Cookie field: HTTP/2 clients
 * may split them), found by scanning in place: no splitting or trimming copies per request.
 */
export function cookieValue(raw, name) {
    for (let i = 0; i < raw.length; i += 2) {
        const field = raw[i];
        if (field.length !== 6 || (field !== 'cookie' && field.toLowerCase() !== 'cookie'))
            continue;
        const v = raw[i + 1];
        let at = 0;
        while (at < v.length) {
            while (isSpace(v.charCodeAt(at)))
                at++;
            let end = v.indexOf(';', at);
            if (end < 0)
                end = v.length;
            if (v.charCodeAt(at + name.length) === 61 /* = */ && v.startsWith(name, at)) {
                let last = end;
                while (last > at && isSpace(v.charCodeAt(last - 1)))
                    last--;
                return v.slice(at + name.length + 1, last);
            }
            at = end + 1;
        }
    }
    return undefined;
}
/**
 * Adds a `Set-Cookie` to a request's extra response headers (flat list), replacing one an
 * earlier stage or attempt set for the same cookie, so stages setting different cookies (sticky
 * backend, endpoint affinity) do not overwrite each other.
 */
export function withSetCookie(extra, cookieName, setCookie) {
    if (extra === undefined)
        return ['set-cookie', setCookie];
    for (let i = 0; i < extra.length; i += 2) {
        const v = extra[i + 1];
        if (extra[i] === 'set-cookie' && v.startsWith(cookieName) && v.charCodeAt(cookieName.length) === 61 /* = */) {
            extra[i + 1] = setCookie;
            return extra;
        }
    }
    extra.push('set-cookie', setCookie);
    return extra;
}
