/** The request timeout (`RouteEntry.requestTimeoutMs`): the whole-request deadline, retries included. */
import { MAX_MS } from '../checker.js';
export const REQUEST_TIMEOUT = {
    field: 'requestTimeoutMs',
    httpOnly: true,
    validate: (v, { c, path }) => { c.integer(v, path, 1, MAX_MS); },
};
