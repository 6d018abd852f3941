/**
 * A routing table seen as a set of named resources, the unit of incremental distribution
 * (docs/distribution.md): the DNS settings, one DNS name per Service, one listener per port,
 * one route per Service port, one cluster's settings per destination port and that cluster's
 * endpoints. Endpoints are their own resource because they change most often: moving one
 * endpoint re-sends one cluster's endpoint list, not its settings or anything else.
 *
 * The table digest is a sum (mod 2^128) of one hash per resource, so a change of a few
 * resources updates it without rehashing the rest, and it does not depend on array order.
 * A new kind is one more `ResourceKind` and one more branch in `forEachResource` and in the
 * delta applier, as the identity map's entries (`identity`, keyed by pod address) were.
 */
import { hash } from 'node:crypto';
export const RESOURCE_KINDS = ['dns', 'dnsService', 'listener', 'route', 'cluster', 'endpoints', 'identity'];
/** Key of the DNS settings, the one resource of its kind. */
export const DNS_KEY = 'dns';
export function dnsServiceKey(s) {
    return `${s.namespace}/${s.name}`;
}
export function listenerKey(l) {
    return String(l.port);
}
/** A cluster's settings: the entry without its endpoints (same key order, so the same JSON). */
export function clusterSettings(entry) {
    const settings = { ...entry };
    delete settings.endpoints;
    return settings;
}
export function dnsSettings(dns) {
    const settings = { ...dns };
    delete settings.services;
    return settings;
}
/** Calls `fn` for every resource of `table`. */
export function forEachResource(table, fn) {
    fn({ kind: 'dns', key: DNS_KEY, value: dnsSettings(table.dns) });
    for (const s of table.dns.services)
        fn({ kind: 'dnsService', key: dnsServiceKey(s), value: s });
    for (const l of table.listeners)
        fn({ kind: 'listener', key: listenerKey(l), value: l });
    for (const r of table.routes)
        fn({ kind: 'route', key: r.id, value: r });
    for (const c of table.clusters) {
        fn({ kind: 'cluster', key: c.id, value: clusterSettings(c) });
        fn({ kind: 'endpoints', key: c.id, value: c.endpoints });
    }
    for (const e of table.identities ?? [])
        fn({ kind: 'identity', key: e.address, value: e });
}
const MOD = 1n << 128n;
/** 128-bit hash of one resource, its kind and key included. */
export function resourceHash(kind, key, value) {
    return BigInt(`0x${hash('sha256', `${kind}\n${key}\n${JSON.stringify(value)}`).slice(0, 32)}`);
}
/** The digest of a table as the sum of its resource hashes; see the file comment. */
export class DigestSum {
    #sum;
    constructor(hex) {
        this.#sum = hex === undefined ? 0n : BigInt(`0x${hex}`);
    }
    add(h) {
        this.#sum = (this.#sum + h) % MOD;
    }
    remove(h) {
        this.#sum = (this.#sum - h + MOD) % MOD;
    }
    get hex() {
        return this.#sum.toString(16).padStart(32, '0');
    }
}
/** Hash of what a table routes, ignoring its version and timestamps (see the file comment). */
export function resourcesDigest(table) {
    const sum = new DigestSum();
    forEachResource(table, (r) => sum.add(resourceHash(r.kind, r.key, r.value)));
    return sum.hex;
}
