/**
 * (In push/ because the publisher is below kube/ in the controller's layering; kube/loop.ts uses it too.)
 *
 * How many changes in a row may go out at once (on the next turn of the event loop) before the
 * rest of a burst is gathered into a window: a token bucket of `burst` tokens, one back every
 * `refillMs`. A lone change, and the pair a pod readiness flip makes (kubelet writes the Pod's
 * status, the EndpointSlice controller then moves the endpoint, some ms apart), each spend a
 * token and wait for no window. A burst beyond the budget (a rollout) is gathered as before, so
 * once the budget is spent at most about one run per `refillMs` starts at once.
 */
export class LeadingBudget {
  readonly #burst: number;
  readonly #refillMs: number;
  #tokens: number;
  #at = Number.NEGATIVE_INFINITY;

  constructor(burst: number, refillMs: number) {
    this.#burst = burst;
    this.#refillMs = refillMs;
    this.#tokens = burst;
  }

  /** Spends a token if one is left (`now`: performance.now()). */
  take(now = performance.now()): boolean {
    if (this.#refillMs <= 0) return true;
    if (this.#at !== Number.NEGATIVE_INFINITY) this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) / this.#refillMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
