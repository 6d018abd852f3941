/**
 * The sticky cookie (`RouteEntry.stickyCookie`): pins a client to the backend Service it was
 * first sent to. The name becomes a Set-Cookie header on every response, so anything but an
 * HTTP token would break them all: the controller, the table validator and the proxy all check
 * it with cookieNameProblem.
 */
import { isHttpToken, TOKEN_CHARACTERS } from './tokens.js';
/** Why `name` cannot be a cookie name, or undefined when it can. */
export function cookieNameProblem(name) {
    return isHttpToken(name) ? undefined : `is not a valid cookie name (${TOKEN_CHARACTERS})`;
}
export const STICKY_COOKIE = {
    field: 'stickyCookie',
    httpOnly: true,
    validate: (v, { c, path }) => {
        if (!c.string(v, path, { nonEmpty: true }))
            return;
        if (cookieNameProblem(v) !== undefined)
            c.fail(path, `must be a cookie name (an HTTP token), got ${JSON.stringify(v)}`);
    },
};
