import { affinityToken } from './hash.js';
/** `address:port`, IPv6 in brackets: the identity of an endpoint across table updates. */
export function endpointKey(address, port) {
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
/**
 * One endpoint of one cluster with its load and passive-health state. The same object lives
 * on across table updates while the endpoint stays, so in-flight counts and resting survive a
 * re-apply. `link` is a slot for the forwarder's per-endpoint connection pool.
 */
export class EndpointState {
    address;
    port;
    key;
    inFlight = 0;
    /** Consecutive dial failures since the last success or rest. */
    fails = 0;
    /** Clock value until which the endpoint rests; 0 when it does not. */
    restUntil = 0;
    /** Set when a table update dropped the endpoint. */
    removed = false;
    link = undefined;
    #clusterId;
    #secret;
    #token;
    constructor(address, port, clusterId, affinitySecret) {
        this.address = address;
        this.port = port;
        this.key = endpointKey(address, port);
        this.#clusterId = clusterId;
        this.#secret = affinitySecret;
    }
    /** Opaque affinity token (the cookie value), computed on first use; never the address. */
    get token() {
        this.#token ??= affinityToken(this.#secret, this.#clusterId, this.key);
        return this.#token;
    }
}
