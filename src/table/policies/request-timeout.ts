/** The request timeout (`RouteEntry.requestTimeoutMs`): the whole-request deadline, retries included. */
import { MAX_MS } from '../checker.ts';
import type { RoutePolicy } from './policy.ts';

export const REQUEST_TIMEOUT: RoutePolicy<'requestTimeoutMs'> = {
  field: 'requestTimeoutMs',
  httpOnly: true,
  validate: (v, { c, path }) => { c.integer(v, path, 1, MAX_MS); },
};
