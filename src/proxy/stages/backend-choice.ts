/**
 * Chooses the backend cluster of a request by the route's weights (smooth weighted round
 * robin). A backend without ready endpoints is passed over while another one has some, so a
 * canary that is scaled to zero does not fail its share of requests.
 */
import type { RouteBackend } from '../http/exchange.ts';
import { WeightedChoice } from '../weighted.ts';
import type { Stage } from './types.ts';

function hasEndpoints(b: RouteBackend): boolean {
  return b.cluster.pool.size > 0;
}

export const backendChoice: Stage = (route, next) => {
  const choice = new WeightedChoice(route.backends.map((b) => ({ item: b, weight: b.weight })));
  if (choice.items.length === 0) return (ex) => ex.fail('no-backend');
  if (choice.items.length === 1) {
    const only = choice.items[0]!;
    return (ex) => {
      ex.backend = only;
      next(ex);
    };
  }
  return (ex) => {
    ex.backend = choice.next(hasEndpoints) ?? choice.next();
    next(ex);
  };
};
