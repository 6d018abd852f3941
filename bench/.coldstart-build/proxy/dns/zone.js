/**
 * The mesh DNS data as an index built once per DnsConfig, and the pure lookup that answers one
 * question from it. Names are matched label by label, case-insensitively (ASCII), against the
 * longest configured zone; everything below a zone is either a known name, an empty
 * non-terminal (`<namespace>.<zone>`, `_tcp.<svc>.<ns>.<zone>`: they exist, with no records),
 * or NXDOMAIN.
 */
import { isIPv4, isIPv6 } from 'node:net';
/** SRV priority and weight: one tier, equal shares (the Kubernetes spec leaves both open). */
export const SRV_PRIORITY = 0;
export const SRV_WEIGHT = 100;
/** SOA timers for the (secondary-less) mesh zones; only `minimum` matters to resolvers. */
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86400;
const EMPTY = {};
function asciiLower(s) {
    return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
function uniq(xs) {
    return [...new Set(xs)];
}
export function buildZoneIndex(config, serial) {
    const zones = uniq(config.zones.map((z) => asciiLower(z).replace(/^\.+|\.+$/g, '')).filter((z) => z.length > 0))
        .map((z) => z.split('.'))
        .toSorted((a, b) => b.length - a.length);
    // Merge duplicate entries for one service (they should not happen; if they do, answer both).
    const merged = new Map();
    for (const s of config.services) {
        const name = `${asciiLower(s.name)}.${asciiLower(s.namespace)}`;
        let m = merged.get(name);
        if (m === undefined)
            merged.set(name, m = { v4: [], v6: [], ports: [] });
        for (const a of s.addresses) {
            if (isIPv4(a))
                m.v4.push(a);
            else if (isIPv6(a))
                m.v6.push(a);
        }
        m.ports.push(...s.ports);
    }
    const names = new Map([['', EMPTY]]);
    const srvAt = new Map();
    const addSrv = (name, port, service) => {
        let list = srvAt.get(name);
        if (list === undefined)
            srvAt.set(name, list = []);
        if (!list.some((r) => r.port === port))
            list.push({ port, service });
    };
    /** Marks `name` and every ancestor below the apex as existing. */
    const exist = (name) => {
        for (let n = name; n !== '' && !names.has(n); n = n.slice(n.indexOf('.') + 1 || n.length))
            names.set(n, EMPTY);
    };
    for (const [name, m] of merged) {
        const service = { name, v4: uniq(m.v4), v6: uniq(m.v6) };
        exist(name);
        names.set(name, { service });
        for (const p of m.ports) {
            addSrv(name, p.port, service);
            if (p.name === '')
                continue;
            const portName = `_${asciiLower(p.name)}._${p.protocol}.${name}`;
            exist(portName);
            addSrv(portName, p.port, service);
        }
    }
    for (const [name, srv] of srvAt)
        names.set(name, { ...names.get(name), srv });
    return { zones, names, ttl: config.ttl, serial };
}
function soa(index, zone) {
    return {
        type: 'SOA',
        name: zone,
        ttl: index.ttl,
        data: {
            mname: `ns.dns.${zone}`,
            rname: `hostmaster.${zone}`,
            serial: index.serial,
            refresh: SOA_REFRESH,
            retry: SOA_RETRY,
            expire: SOA_EXPIRE,
            minimum: index.ttl,
        },
    };
}
function addressRecords(owner, s, ttl, v4, v6, out) {
    if (v4)
        for (const a of s.v4)
            out.push({ type: 'A', name: owner, ttl, data: a });
    if (v6)
        for (const a of s.v6)
            out.push({ type: 'AAAA', name: owner, ttl, data: a });
}
/**
 * Answers one question. `labels` are the question's labels as sent (case kept, so owner names
 * echo the asker's spelling); `type` is dns-packet's name for the QTYPE.
 */
export function answerQuestion(index, labels, type) {
    const lower = labels.map(asciiLower);
    const zoneLabels = index.zones.find((z) => z.length <= lower.length && z.every((l, i) => lower[lower.length - z.length + i] === l));
    if (zoneLabels === undefined)
        return { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] };
    const zone = zoneLabels.join('.');
    const relLabels = lower.slice(0, lower.length - zoneLabels.length);
    // A label with a dot inside cannot be a Kubernetes name; joining it would alias another name.
    const node = relLabels.some((l) => l.includes('.')) ? undefined : index.names.get(relLabels.join('.'));
    if (node === undefined) {
        return { rcode: 'NXDOMAIN', authoritative: true, answers: [], authorities: [soa(index, zone)], additionals: [] };
    }
    const owner = labels.join('.');
    const { ttl } = index;
    const answers = [];
    const additionals = [];
    const any = type === 'ANY';
    if (node.service !== undefined && (any || type === 'A' || type === 'AAAA')) {
        addressRecords(owner, node.service, ttl, any || type === 'A', any || type === 'AAAA', answers);
    }
    if (node.srv !== undefined && (any || type === 'SRV')) {
        const glued = new Set();
        for (const r of node.srv) {
            const target = `${r.service.name}.${zone}`;
            answers.push({ type: 'SRV', name: owner, ttl, data: { priority: SRV_PRIORITY, weight: SRV_WEIGHT, port: r.port, target } });
            if (!glued.has(r.service)) {
                glued.add(r.service);
                addressRecords(target, r.service, ttl, true, true, additionals);
            }
        }
    }
    if (relLabels.length === 0 && (any || type === 'SOA'))
        answers.push(soa(index, zone));
    // NODATA carries the SOA too, so the empty answer is cached for its TTL (RFC 2308).
    const authorities = answers.length === 0 ? [soa(index, zone)] : [];
    return { rcode: 'NOERROR', authoritative: true, answers, authorities, additionals };
}
