/**
 * Choosing how to make cluster DNS forward the mesh zones, from what was observed in the DNS
 * namespace, as a plan of ConfigMap writes and an optional rollout restart. Pure: the caller
 * reads the objects, applies the writes (with their resourceVersion, re-planning on conflict)
 * and runs the plan again on every resync, so an add-on manager that reverts the ConfigMap
 * (EKS "overwrite") is corrected on the next pass. Planning twice in a row plans nothing.
 *
 * - CoreDNS whose Corefile imports `*.server` files from a mounted ConfigMap (k3s, AKS): the key
 *   `hostmesh.server` in that ConfigMap (`coredns-custom`). CoreDNS's `reload` only watches the
 *   main Corefile, not imported files, so a rollout restart is planned.
 * - Other CoreDNS (kubeadm, EKS, RKE2, ...): the hostmesh blocks between markers in the Corefile,
 *   found through the Deployment's volumes; a rollout restart only when `reload` is absent.
 * - kube-dns (GKE): the mesh zones in `stubDomains` of the `kube-dns` ConfigMap.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { HostmeshError } from '../../common/errors.js';
import { checkZoneConflicts, hasManagedRegion, hasPlugin, outlineCorefile, patchCorefile, renderManagedRegion, rootPort, unpatchCorefile, } from './corefile.js';
import { CUSTOM_SERVER_KEY, patchCustomData, removeCustomData, renderCustomServer } from './coredns-custom.js';
import { configMapMountedAt, findCorefileConfigMap, looksLikeKubeDns } from './deployment.js';
import { STUB_DOMAINS_KEY, patchStubDomains, removeStubDomains } from './stub-domains.js';
import { checkTarget } from './types.js';
/** Pod-template annotation that rolls CoreDNS once per hostmesh DNS configuration. */
export const DNS_CONFIG_ANNOTATION = 'hostmesh.io/dns-config';
const KUBE_DNS_CONFIGMAP = 'kube-dns';
const DEFAULT_CUSTOM = 'coredns-custom';
const DEFAULT_CUSTOM_DIR = '/etc/coredns/custom';
function describe(ref) {
    return `ConfigMap ${ref.namespace}/${ref.name}`;
}
function findConfigMap(observed, ref) {
    return observed.configMaps.find((cm) => cm.metadata.name === ref.name && (cm.metadata.namespace ?? ref.namespace) === ref.namespace);
}
function globMatches(pattern, name) {
    const re = new RegExp(`^${pattern.replaceAll(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]')}$`);
    return re.test(name);
}
function customImport(outline, ref, deployment, notes) {
    for (const imported of outline.imports) {
        if (!globMatches(posix.basename(imported), CUSTOM_SERVER_KEY))
            continue;
        const dir = posix.resolve(posix.dirname(ref.path), posix.dirname(imported));
        const mounted = deployment ? configMapMountedAt(deployment, dir) : undefined;
        if (mounted)
            return mounted;
        if (dir === DEFAULT_CUSTOM_DIR) {
            notes.push(`the Corefile imports ${imported}; no ConfigMap volume for ${dir} was observed, assuming ${DEFAULT_CUSTOM} as on k3s and AKS`);
            return { namespace: ref.namespace, name: DEFAULT_CUSTOM };
        }
    }
    return undefined;
}
function locate(observed, notes) {
    const deployment = observed.deployment;
    const namespace = deployment?.metadata.namespace ?? 'kube-system';
    let ref = deployment ? findCorefileConfigMap(deployment) : undefined;
    if (deployment && !ref) {
        if (looksLikeKubeDns(deployment)) {
            return { kind: 'kube-dns', namespace, configMap: findConfigMap(observed, { namespace, name: KUBE_DNS_CONFIGMAP }) };
        }
        throw new HostmeshError('DNS_NOT_FOUND', `Deployment ${namespace}/${deployment.metadata.name} runs neither CoreDNS with a Corefile from a ConfigMap volume nor kube-dns; configure cluster DNS by hand (see docs/kubernetes.md)`);
    }
    if (!ref) {
        const fallback = { namespace, name: 'coredns', key: 'Corefile', path: '/etc/coredns/Corefile' };
        if (findConfigMap(observed, fallback)?.data?.Corefile !== undefined) {
            notes.push(`no DNS Deployment observed; using ${describe(fallback)} key Corefile`);
            ref = fallback;
        }
        else {
            const kubeDns = findConfigMap(observed, { namespace, name: KUBE_DNS_CONFIGMAP });
            return kubeDns ? { kind: 'kube-dns', namespace, configMap: kubeDns } : undefined;
        }
    }
    const configMap = findConfigMap(observed, ref);
    const text = configMap?.data?.[ref.key];
    if (!configMap || text === undefined) {
        throw new HostmeshError('DNS_COREFILE_MISSING', `the CoreDNS Deployment reads its Corefile from ${describe(ref)} key ${ref.key}, which ${configMap ? 'has no such key' : 'does not exist'}`, { namespace: ref.namespace, name: ref.name, key: ref.key });
    }
    const where = `${describe(ref)} key ${ref.key}`;
    const outline = outlineCorefile(unpatchCorefile(text, where).text, where);
    return { kind: 'coredns', namespace, deployment, ref, configMap, text, outline, custom: customImport(outline, ref, deployment, notes) };
}
function write(ref, existing, data) {
    return existing
        ? { action: 'update', namespace: ref.namespace, name: ref.name, resourceVersion: existing.metadata.resourceVersion, data }
        : { action: 'create', namespace: ref.namespace, name: ref.name, data };
}
function digest(text) {
    return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
function restart(dns, configText, notes) {
    const value = digest(configText);
    const deployment = dns.deployment;
    if (!deployment) {
        notes.push('CoreDNS will not reload this change by itself and no Deployment was observed: restart CoreDNS by hand');
        return undefined;
    }
    if (deployment.spec?.template?.metadata?.annotations?.[DNS_CONFIG_ANNOTATION] === value) {
        notes.push(`Deployment ${dns.namespace}/${deployment.metadata.name} was already restarted for this configuration (${DNS_CONFIG_ANNOTATION}=${value})`);
        return undefined;
    }
    return { namespace: dns.namespace, name: deployment.metadata.name, annotations: { [DNS_CONFIG_ANNOTATION]: value } };
}
function patchCoreDns(dns, target, observed, notes) {
    const port = rootPort(dns.outline);
    const corefileWhere = `${describe(dns.ref)} key ${dns.ref.key}`;
    const writes = [];
    if (dns.custom) {
        const customWhere = describe(dns.custom);
        checkZoneConflicts(dns.outline, target, port, corefileWhere);
        const existing = findConfigMap(observed, dns.custom);
        const edit = patchCustomData(existing?.data, target, port, customWhere);
        if (edit.changed)
            writes.push(write(dns.custom, existing, edit.data));
        notes.push(`the Corefile imports *.server files from ${customWhere}: hostmesh uses its key ${CUSTOM_SERVER_KEY} and leaves the Corefile alone`);
        if (hasManagedRegion(dns.text, corefileWhere)) {
            writes.push(write(dns.ref, dns.configMap, { ...dns.configMap.data, [dns.ref.key]: unpatchCorefile(dns.text, corefileWhere).text }));
            notes.push(`removing an older hostmesh block from ${corefileWhere}`);
        }
        const text = renderCustomServer(target, port);
        notes.push('CoreDNS reload watches only the main Corefile, not imported files: CoreDNS is restarted once per configuration');
        return { strategy: 'coredns-custom', writes, restart: restart(dns, text, notes), notes };
    }
    const edit = patchCorefile(dns.text, target, corefileWhere);
    if (edit.changed)
        writes.push(write(dns.ref, dns.configMap, { ...dns.configMap.data, [dns.ref.key]: edit.text }));
    notes.push(`hostmesh blocks go into ${corefileWhere} between its marker comments`);
    const stale = findConfigMap(observed, { namespace: dns.namespace, name: DEFAULT_CUSTOM });
    if (stale?.data?.[CUSTOM_SERVER_KEY] !== undefined) {
        writes.push(write({ namespace: dns.namespace, name: DEFAULT_CUSTOM }, stale, removeCustomData(stale.data).data));
        notes.push(`removing ${CUSTOM_SERVER_KEY} from ${DEFAULT_CUSTOM}, which the Corefile no longer imports`);
    }
    const reloads = hasPlugin(dns.outline, 'reload');
    if (reloads)
        notes.push('the Corefile has the reload plugin: CoreDNS picks the change up within a minute or two, no restart');
    else
        notes.push('the Corefile has no reload plugin: CoreDNS is restarted once per configuration');
    return { strategy: 'corefile', writes, restart: reloads ? undefined : restart(dns, renderManagedRegion(target, port).join('\n'), notes), notes };
}
/** How to make cluster DNS forward `zones` to `dnsServiceIP` (the proxies' DNS Service). */
export function planDnsPatch(observed, dnsServiceIP, zones) {
    const target = checkTarget(dnsServiceIP, zones);
    const notes = [];
    const dns = locate(observed, notes);
    if (!dns) {
        throw new HostmeshError('DNS_NOT_FOUND', 'no CoreDNS Corefile and no kube-dns found in kube-system; configure cluster DNS by hand (see docs/kubernetes.md)');
    }
    if (dns.kind === 'coredns')
        return patchCoreDns(dns, target, observed, notes);
    const ref = { namespace: dns.namespace, name: KUBE_DNS_CONFIGMAP };
    const edit = patchStubDomains(dns.configMap?.data?.[STUB_DOMAINS_KEY], target, describe(ref));
    notes.push(`kube-dns: the mesh zones go into ${STUB_DOMAINS_KEY} of ${describe(ref)}; kube-dns reloads it by itself`);
    return {
        strategy: 'kube-dns',
        writes: edit.changed ? [write(ref, dns.configMap, { ...dns.configMap?.data, [STUB_DOMAINS_KEY]: edit.value })] : [],
        notes,
    };
}
/** Removes whatever hostmesh added, wherever it is (Corefile markers, `hostmesh.server`, stub domains). */
export function planDnsCleanup(observed, zones) {
    const notes = [];
    const dns = locate(observed, notes);
    if (!dns)
        return { strategy: undefined, writes: [], notes: ['no CoreDNS Corefile and no kube-dns found: nothing to remove'] };
    const writes = [];
    if (dns.kind === 'kube-dns') {
        const ref = { namespace: dns.namespace, name: KUBE_DNS_CONFIGMAP };
        const wanted = zones.map((z) => z.toLowerCase().replace(/\.$/, ''));
        const edit = removeStubDomains(dns.configMap?.data?.[STUB_DOMAINS_KEY], wanted, describe(ref));
        if (edit.changed && dns.configMap) {
            const { [STUB_DOMAINS_KEY]: _old, ...rest } = dns.configMap.data ?? {};
            writes.push(write(ref, dns.configMap, edit.value === undefined ? rest : { ...rest, [STUB_DOMAINS_KEY]: edit.value }));
        }
        return { strategy: 'kube-dns', writes, notes };
    }
    const corefileWhere = `${describe(dns.ref)} key ${dns.ref.key}`;
    const edit = unpatchCorefile(dns.text, corefileWhere);
    if (edit.changed)
        writes.push(write(dns.ref, dns.configMap, { ...dns.configMap.data, [dns.ref.key]: edit.text }));
    const customRef = dns.custom ?? { namespace: dns.namespace, name: DEFAULT_CUSTOM };
    const custom = findConfigMap(observed, customRef);
    const removed = removeCustomData(custom?.data);
    if (removed.changed)
        writes.push(write(customRef, custom, removed.data));
    const needsRestart = removed.changed || (edit.changed && !hasPlugin(dns.outline, 'reload'));
    return {
        strategy: dns.custom ? 'coredns-custom' : 'corefile',
        writes,
        restart: needsRestart ? restart(dns, '', notes) : undefined,
        notes,
    };
}
