/**
 * The cluster objects the DNS patch reads, typed structurally (client-node objects and plain
 * JSON both fit), and the checked target: where the mesh zones are forwarded.
 */
import { isIP } from 'node:net';
import { HostmeshError } from '../../common/errors.js';
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
/** Validates and normalises (lower case, no trailing dot, no duplicates) what the caller gave. */
export function checkTarget(dnsServiceIP, zones) {
    const addresses = typeof dnsServiceIP === 'string' ? [dnsServiceIP] : [...dnsServiceIP];
    if (addresses.length === 0)
        throw new HostmeshError('DNS_BAD_IP', 'no DNS Service address given for the mesh zones');
    for (const ip of addresses) {
        if (isIP(ip) === 0)
            throw new HostmeshError('DNS_BAD_IP', `DNS Service address "${ip}" is not an IP address`, { address: ip });
    }
    const normalised = [...new Set(zones.map((z) => z.toLowerCase().replace(/\.$/, '')))];
    if (normalised.length === 0)
        throw new HostmeshError('DNS_BAD_ZONE', 'no mesh DNS zone given');
    for (const zone of normalised) {
        if (!DNS_NAME.test(zone))
            throw new HostmeshError('DNS_BAD_ZONE', `mesh DNS zone "${zone}" is not a valid DNS name`, { zone });
    }
    return { addresses: [...new Set(addresses)], zones: normalised };
}
