/**
 * kube-dns (GKE's default) has no Corefile: the `kube-dns` ConfigMap's `stubDomains` key holds
 * JSON in a string, `{"<zone>": ["<server IP>", ...]}`. hostmesh adds its zones and leaves
 * every other entry alone.
 */
import { HostmeshError } from '../../common/errors.js';
export const STUB_DOMAINS_KEY = 'stubDomains';
function parse(current, where) {
    if (current === undefined || current.trim() === '')
        return {};
    let parsed;
    try {
        parsed = JSON.parse(current);
    }
    catch (e) {
        throw new HostmeshError('DNS_STUBDOMAINS_INVALID', `${STUB_DOMAINS_KEY} of ${where} is not JSON (${e.message}); hostmesh will not overwrite it`);
    }
    const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        && Object.values(parsed).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'));
    if (!ok)
        throw new HostmeshError('DNS_STUBDOMAINS_INVALID', `${STUB_DOMAINS_KEY} of ${where} is not an object of string lists: ${current}`);
    return parsed;
}
const same = (a, b) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
/** The new `stubDomains` value with every mesh zone pointing at the target; the same text when nothing changes. */
export function patchStubDomains(current, target, where) {
    const domains = parse(current, where);
    if (current !== undefined && target.zones.every((z) => same(domains[z], target.addresses)))
        return { value: current, changed: false };
    for (const zone of target.zones)
        domains[zone] = [...target.addresses];
    return { value: JSON.stringify(domains), changed: true };
}
/** `stubDomains` without the mesh zones; undefined when nothing else is left (the key goes). */
export function removeStubDomains(current, zones, where) {
    const domains = parse(current, where);
    const present = zones.filter((z) => Object.hasOwn(domains, z));
    if (present.length === 0)
        return { value: current, changed: false };
    for (const zone of present)
        delete domains[zone];
    return { value: Object.keys(domains).length === 0 ? undefined : JSON.stringify(domains), changed: true };
}
