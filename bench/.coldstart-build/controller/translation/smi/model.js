/**
 * SMI objects as translation uses them, whatever version they were written in: each version's
 * shape (parse.ts) is read into one of these. See docs/smi.md for the versions and their fields.
 */
export const SMI_SPLIT_GROUP = 'split.smi-spec.io';
export const SMI_SPECS_GROUP = 'specs.smi-spec.io';
export const SMI_ACCESS_GROUP = 'access.smi-spec.io';
/** The versions read, per group and kind, oldest first. */
export const SMI_VERSIONS = {
    TrafficSplit: { group: SMI_SPLIT_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'trafficsplits' },
    HTTPRouteGroup: { group: SMI_SPECS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'httproutegroups' },
    TCPRoute: { group: SMI_SPECS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], plural: 'tcproutes' },
    UDPRoute: { group: SMI_SPECS_GROUP, versions: ['v1alpha4'], plural: 'udproutes' },
    TrafficTarget: { group: SMI_ACCESS_GROUP, versions: ['v1alpha1', 'v1alpha2', 'v1alpha3'], plural: 'traffictargets' },
};
