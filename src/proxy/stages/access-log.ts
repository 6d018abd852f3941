/**
 * Access logging, as the first stage: notes the client address while it is known (an HTTP/2
 * stream forgets it once closed). The line itself is written when the exchange finishes (see
 * src/proxy/access-log.ts). Without an access log the stage is not in the chain at all.
 */
import { clientAddress } from '../http/headers.ts';
import type { Stage } from './types.ts';

export const accessLogStart: Stage = (route, next) => {
  if (route.accessLog === undefined) return next;
  return (ex) => {
    ex.client = clientAddress(ex.req.socket.remoteAddress);
    next(ex);
  };
};
