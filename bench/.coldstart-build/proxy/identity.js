/**
 * The client identity lookup: which pod (namespace, ServiceAccount) a connection comes from,
 * by its source address, from the table's identity map (`RoutingTable.identities`). One object
 * per engine that HTTP routes (client-scoped rules) and the L4 listeners keep a reference to;
 * an apply that changes the map swaps its contents at commit, so a lookup always sees one
 * whole table's map. A source address not in the map is an unknown client (undefined).
 */
import { identityKey } from '../table/index.js';
export class IdentityMap {
    #byAddress = new Map();
    /** The entries array the current map was built from, so an unchanged map is not rebuilt. */
    #source = undefined;
    identify(remoteAddress) {
        if (remoteAddress === undefined || this.#byAddress.size === 0)
            return undefined;
        return this.#byAddress.get(identityKey(remoteAddress));
    }
    get size() {
        return this.#byAddress.size;
    }
    /** The map for `entries`, built but not installed (an apply builds before it commits). */
    plan(entries) {
        if (entries === this.#source)
            return undefined;
        const next = new Map();
        for (const e of entries ?? [])
            next.set(identityKey(e.address), e);
        return () => {
            this.#byAddress = next;
            this.#source = entries;
        };
    }
}
