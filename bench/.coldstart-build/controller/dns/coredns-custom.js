/**
 * The extension point of k3s and AKS: a `coredns-custom` ConfigMap whose `*.server` keys the
 * main Corefile imports as server blocks. hostmesh owns one key, `hostmesh.server`; k3s rewrites
 * its own `coredns` ConfigMap on restart and AKS forbids editing it, but this key survives both.
 */
import { checkZoneConflicts, outlineCorefile, renderManagedRegion } from './corefile.js';
export const CUSTOM_SERVER_KEY = 'hostmesh.server';
export function renderCustomServer(target, port) {
    return `${renderManagedRegion(target, port).join('\n')}\n`;
}
/**
 * Sets `hostmesh.server`, keeping every other key. Fails (DNS_ZONE_CONFLICT) when another
 * imported `*.server` key already serves a mesh zone on the same port.
 */
export function patchCustomData(data, target, port, where) {
    for (const [key, value] of Object.entries(data ?? {})) {
        if (key === CUSTOM_SERVER_KEY || !key.endsWith('.server'))
            continue;
        checkZoneConflicts(outlineCorefile(value, `key ${key} of ${where}`), target, port, `key ${key} of ${where}`);
    }
    const text = renderCustomServer(target, port);
    return { data: { ...data, [CUSTOM_SERVER_KEY]: text }, changed: data?.[CUSTOM_SERVER_KEY] !== text };
}
export function removeCustomData(data) {
    const { [CUSTOM_SERVER_KEY]: removed, ...rest } = data ?? {};
    return { data: rest, changed: removed !== undefined };
}
