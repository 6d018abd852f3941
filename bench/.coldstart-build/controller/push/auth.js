/**
 * Bearer-token check for the controller API. Both sides are hashed first so the comparison is
 * constant-time whatever the length of what a client sends.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HostmeshError } from '../../common/errors.js';
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
function sha256(value) {
    return createHash('sha256').update(value).digest();
}
/** Returns a checker of `Authorization` header values against `token`. */
export function bearerAuth(token) {
    const trimmed = token.trim();
    if (trimmed.length === 0)
        throw new HostmeshError('TOKEN_EMPTY', 'controller API: the bearer token is empty (check --token-file)');
    const expected = sha256(trimmed);
    return (authorization) => {
        if (authorization === undefined || authorization === '')
            return 'missing';
        const m = BEARER.exec(authorization);
        if (!m)
            return 'invalid';
        return timingSafeEqual(sha256(m[1]), expected) ? 'ok' : 'invalid';
    };
}
