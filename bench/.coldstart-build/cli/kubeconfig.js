/**
 * Cluster credentials for `hostmesh controller` and `hostmesh cleanup`: `--kubeconfig FILE`,
 * else the pod's service account (in a cluster), else `$KUBECONFIG` or `~/.kube/config`.
 * client-node's own fallback (an unauthenticated http://localhost:8080) is never used: without
 * credentials the command stops with one line saying what it looked for.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage, HostmeshError } from '../common/errors.js';
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export function loadKubeConfig(file) {
    // client-node's loaders read process.env themselves, so this does too.
    const env = process.env;
    const kc = new KubeConfig();
    let what = 'the kubeconfig';
    try {
        if (file !== undefined) {
            what = `the kubeconfig ${file}`;
            kc.loadFromFile(file);
        }
        else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
            what = 'the in-cluster service account';
            kc.loadFromCluster();
        }
        else if (env.KUBECONFIG) {
            what = `the kubeconfig $KUBECONFIG (${env.KUBECONFIG})`;
            kc.loadFromDefault();
        }
        else {
            const home = join(homedir(), '.kube', 'config');
            what = `the kubeconfig ${home}`;
            if (!existsSync(home)) {
                throw new HostmeshError('KUBECONFIG_MISSING', `no cluster credentials: not in a cluster (no service account token at ${SERVICE_ACCOUNT_TOKEN}), $KUBECONFIG is not set and ${home} does not exist; give --kubeconfig FILE`);
            }
            kc.loadFromFile(home);
        }
    }
    catch (e) {
        if (e instanceof HostmeshError)
            throw e;
        throw new HostmeshError('KUBECONFIG_UNREADABLE', `cannot load ${what}: ${errorMessage(e)}`);
    }
    if (kc.getCurrentCluster() === null) {
        throw new HostmeshError('KUBECONFIG_NO_CLUSTER', `${what} has no current context with a cluster (set current-context)`);
    }
    return kc;
}
