import { CookieBalancer } from './cookie.js';
import { EndpointState, endpointKey } from './endpoint.js';
import { HeaderHashBalancer } from './header-hash.js';
import { LeastRequestBalancer } from './least-request.js';
import { RandomBalancer } from './random.js';
import { RoundRobinBalancer } from './round-robin.js';
function createBalancer(lb, eps) {
    switch (lb.kind) {
        case 'round-robin': return new RoundRobinBalancer(eps);
        case 'random': return new RandomBalancer(eps);
        case 'cookie': return new CookieBalancer(eps);
        case 'header': return new HeaderHashBalancer(eps);
        case 'least-request': return new LeastRequestBalancer(eps);
    }
}
export class EndpointPool {
    clusterId;
    #opts;
    #eps = [];
    #byKey = new Map();
    #balancer;
    #maxFails;
    #failDurationMs;
    #lb;
    #ctx;
    constructor(entry, opts) {
        this.clusterId = entry.id;
        this.#opts = opts;
        const now = opts.now ?? performance.now.bind(performance);
        this.#ctx = { exclude: undefined, now };
        this.#lb = entry.loadBalancer;
        this.#maxFails = entry.passiveHealth.maxFails;
        this.#failDurationMs = entry.passiveHealth.failDurationMs;
        this.#balancer = createBalancer(entry.loadBalancer, []);
        this.plan(entry).commit();
    }
    get size() {
        return this.#eps.length;
    }
    get loadBalancer() {
        return this.#lb;
    }
    /** Current endpoints, in table order (for diagnostics and tests). */
    get endpoints() {
        return this.#eps;
    }
    pick(hint, exclude) {
        const ctx = this.#ctx;
        ctx.exclude = exclude;
        const ep = this.#balancer.pick(hint?.affinity, ctx);
        ctx.exclude = undefined;
        return ep;
    }
    acquire(endpoint) {
        endpoint.inFlight++;
    }
    release(endpoint) {
        const ep = endpoint;
        if (ep.inFlight > 0)
            ep.inFlight--;
    }
    reportFailure(endpoint) {
        const ep = endpoint;
        if (this.#maxFails === 0)
            return;
        if (++ep.fails >= this.#maxFails) {
            ep.fails = 0;
            ep.restUntil = this.#ctx.now() + this.#failDurationMs;
        }
    }
    reportSuccess(endpoint) {
        const ep = endpoint;
        ep.fails = 0;
        ep.restUntil = 0;
    }
    /** Whether an endpoint rests now (for diagnostics and tests). */
    isResting(endpoint) {
        const ep = endpoint;
        return ep.restUntil !== 0 && ep.restUntil > this.#ctx.now();
    }
    /**
     * Computes the pool for a new version of the cluster without changing anything visible.
     * Endpoints that stay keep their state objects (in-flight counts, health, connections).
     */
    plan(entry) {
        const byKey = new Map();
        const eps = [];
        for (const e of entry.endpoints) {
            const key = endpointKey(e.address, e.port);
            if (byKey.has(key))
                continue;
            const ep = this.#byKey.get(key) ?? new EndpointState(e.address, e.port, entry.id, this.#opts.affinitySecret);
            byKey.set(key, ep);
            eps.push(ep);
        }
        const removed = this.#eps.filter((ep) => !byKey.has(ep.key));
        const balancer = createBalancer(entry.loadBalancer, eps);
        return {
            commit: () => {
                this.#eps = eps;
                this.#byKey = byKey;
                this.#balancer = balancer;
                this.#lb = entry.loadBalancer;
                this.#maxFails = entry.passiveHealth.maxFails;
                this.#failDurationMs = entry.passiveHealth.failDurationMs;
                // Turning passive health off ends the rests it imposed, not only future ones.
                if (this.#maxFails === 0)
                    for (const ep of eps)
                        ep.fails = ep.restUntil = 0;
                for (const ep of removed) {
                    ep.removed = true;
                    this.#opts.onRemoved?.(ep);
                }
            },
        };
    }
    /** Drops every endpoint (the cluster left the table). */
    clear() {
        const removed = this.#eps;
        this.#eps = [];
        this.#byKey = new Map();
        this.#balancer = createBalancer(this.#lb, []);
        for (const ep of removed) {
            ep.removed = true;
            this.#opts.onRemoved?.(ep);
        }
    }
}
