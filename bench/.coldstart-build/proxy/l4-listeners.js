import { WeightedChoice } from './weighted.js';
function hasEndpoints(c) {
    return c.picker.size > 0;
}
/** A route for the L4 forwarders: weighted backend choice once per connection or session. */
export function buildL4Route(entry, clusters) {
    // Maintenance: no backend at all, so TCP connections are reset and UDP datagrams dropped.
    if (entry.maintenance !== undefined)
        return { id: entry.id, pickCluster: () => undefined };
    const choice = new WeightedChoice(entry.backends.map((b) => ({ item: clusters.get(b.cluster), weight: b.weight })));
    return {
        id: entry.id,
        pickCluster: () => choice.next(hasEndpoints) ?? choice.next(),
    };
}
