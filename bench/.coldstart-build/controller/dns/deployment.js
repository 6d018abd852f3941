/**
 * Reading the cluster DNS Deployment: which ConfigMap holds the Corefile (RKE2 names it
 * `rke2-coredns-rke2-coredns`, so it is found through the volumes, never by a fixed name), which
 * ConfigMap is mounted where an `import` points, and whether it runs kube-dns instead of CoreDNS.
 */
import { posix } from 'node:path';
/** CoreDNS's own default when no `-conf` is given is ./Corefile; every distribution passes -conf. */
const DEFAULT_CONF = '/etc/coredns/Corefile';
function containers(deployment) {
    return deployment.spec?.template?.spec?.containers ?? [];
}
function confArg(c) {
    const args = [...(c.command ?? []), ...(c.args ?? [])];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const eq = /^--?conf=(.+)$/.exec(a);
        if (eq)
            return eq[1];
        if (a === '-conf' || a === '--conf')
            return args[i + 1];
    }
    return undefined;
}
function corednsContainer(deployment) {
    const all = containers(deployment);
    return all.find((c) => confArg(c) !== undefined) ?? all.find((c) => /coredns/.test(c.image ?? '') || c.name === 'coredns');
}
export function looksLikeKubeDns(deployment) {
    return containers(deployment).some((c) => c.name === 'kubedns' || /k8s-dns-kube-dns|\/kube-dns/.test(c.image ?? ''));
}
function namespaceOf(deployment) {
    return deployment.metadata.namespace ?? 'kube-system';
}
/** The ConfigMap (and key) a file at `path` in the CoreDNS container comes from. */
function configMapForFile(deployment, container, path) {
    const volumes = deployment.spec?.template?.spec?.volumes ?? [];
    const mounts = (container.volumeMounts ?? [])
        .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
        .toSorted((a, b) => b.mountPath.length - a.mountPath.length);
    for (const mount of mounts) {
        const cm = volumes.find((v) => v.name === mount.name)?.configMap;
        if (!cm?.name)
            continue;
        if (mount.subPath !== undefined && path === mount.mountPath)
            return { namespace: namespaceOf(deployment), name: cm.name, key: mount.subPath };
        const relative = path.slice(mount.mountPath.replace(/\/$/, '').length + 1);
        const key = cm.items ? cm.items.find((item) => item.path === relative)?.key : relative;
        if (key !== undefined)
            return { namespace: namespaceOf(deployment), name: cm.name, key };
    }
    return undefined;
}
export function findCorefileConfigMap(deployment) {
    const container = corednsContainer(deployment);
    if (!container)
        return undefined;
    const path = posix.resolve('/', confArg(container) ?? DEFAULT_CONF);
    const found = configMapForFile(deployment, container, path);
    return found ? { ...found, path } : undefined;
}
/** The ConfigMap mounted as the directory `dir` in the CoreDNS container, if one is. */
export function configMapMountedAt(deployment, dir) {
    const container = corednsContainer(deployment);
    const want = dir.replace(/\/$/, '');
    const mount = container?.volumeMounts?.find((m) => m.mountPath.replace(/\/$/, '') === want && m.subPath === undefined);
    const cm = deployment.spec?.template?.spec?.volumes?.find((v) => v.name === mount?.name)?.configMap;
    return cm?.name ? { namespace: namespaceOf(deployment), name: cm.name } : undefined;
}
