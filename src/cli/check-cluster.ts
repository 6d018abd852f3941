/**
 * `hostmesh check --pre` and `hostmesh check --cluster`: checks against a cluster through a
 * kubeconfig, one line each (`✔`, `!` for a warning, `✖` for a problem), like `linkerd check`.
 *
 * --pre (before installing): the API answers and is new enough, cluster DNS is one hostmesh can
 * patch for the mesh zones, the release namespace's Pod Security level admits the chart, you may
 * create what `helm install` creates (SelfSubjectAccessReview, check-access.ts).
 * --cluster (an installed release): the same namespace check, the controller Deployment and the
 * proxy DaemonSet ready, the controller's ServiceAccount allowed everything it needs
 * (SubjectAccessReview, check-access.ts), CoreDNS forwarding the mesh zones to the proxies' DNS
 * Service, every proxy's DNS responder answering a mesh name (check-proxy-dns.ts); with
 * --controller and --token-file also every proxy connected and current (the controller's
 * /v1/status). Both: the custom resources hostmesh reads are served (check-crds.ts; absent
 * optional ones are notes). Exit 0 when nothing failed (warnings and notes allowed), 1 otherwise.
 */
import { AppsV1Api, CoreV1Api, VersionApi } from '@kubernetes/client-node';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { DNS_NAMESPACE, observeDns } from '../controller/dns/apply.ts';
import { planDnsPatch } from '../controller/dns/plan.ts';
import { failedWith, kubeCall } from '../controller/kube/errors.ts';
import { checkControllerAccess, checkInstallAccess } from './check-access.ts';
import { checkCrds, crdsRead } from './check-crds.ts';
import type { CrdUse } from './check-crds.ts';
import { checkProxyDns } from './check-proxy-dns.ts';

/** `note`: worth knowing, nothing to fix (an optional CRD that is not installed). */
export type CheckState = 'ok' | 'note' | 'warn' | 'fail';

export interface CheckLine {
  state: CheckState;
  text: string;
}

export interface ClusterCheckOptions {
  kubeConfig: KubeConfig;
  /** The release namespace. */
  namespace: string;
  zones: readonly string[];
  pre: boolean;
  /** The controller's proxies, from its /v1/status (--cluster with --controller). */
  proxies?: () => Promise<CheckLine>;
  /** The custom resources to look for, from the controller's args (default: crdsRead). */
  crds?: (controllerArgs: readonly string[] | undefined) => CrdUse[];
  /** Longest wait for each proxy's DNS answer, ms (default 2 s). */
  dnsTimeoutMs?: number;
}

/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion). */
export const MIN_KUBERNETES: readonly [number, number] = [1, 26];
const PSA_LABEL = 'pod-security.kubernetes.io/enforce';
const SYMBOL: Record<CheckState, string> = { ok: '✔', note: '·', warn: '!', fail: '✖' };

export function formatCheckLine(l: CheckLine): string {
  return `${SYMBOL[l.state]} ${l.text}`;
}

interface Labelled { metadata?: { name?: string; labels?: Record<string, string> } }

async function apiVersion(kc: KubeConfig): Promise<CheckLine> {
  try {
    const v = await kc.makeApiClient(VersionApi).getCode();
    const major = Number.parseInt(v.major, 10);
    const minor = Number.parseInt(v.minor, 10);
    const old = major < MIN_KUBERNETES[0] || (major === MIN_KUBERNETES[0] && minor < MIN_KUBERNETES[1]);
    return old
      ? { state: 'fail', text: `Kubernetes ${v.gitVersion} is older than ${MIN_KUBERNETES.join('.')}, the oldest the chart supports` }
      : { state: 'ok', text: `can reach the Kubernetes API (${v.gitVersion})` };
  } catch (e) {
    return { state: 'fail', text: `cannot reach the Kubernetes API at ${kc.getCurrentCluster()?.server ?? '?'}: ${errorMessage(e)}` };
  }
}

async function podSecurity(core: CoreV1Api, namespace: string, pre: boolean): Promise<CheckLine> {
  let ns: Labelled;
  try {
    ns = await kubeCall({ verb: 'get', kind: 'Namespace', name: namespace }, () => core.readNamespace({ name: namespace }));
  } catch (e) {
    if (failedWith(e, 404)) {
      return pre
        ? { state: 'ok', text: `namespace ${namespace} does not exist yet (helm --create-namespace makes it; then: kubectl label namespace ${namespace} ${PSA_LABEL}=baseline)` }
        : { state: 'fail', text: `namespace ${namespace} does not exist` };
    }
    return { state: 'fail', text: errorMessage(e) };
  }
  const level = ns.metadata?.labels?.[PSA_LABEL];
  if (level === undefined) return { state: 'warn', text: `namespace ${namespace} enforces no Pod Security level; the chart's defaults run under baseline: kubectl label namespace ${namespace} ${PSA_LABEL}=baseline` };
  if (level === 'baseline' || level === 'restricted' || level === 'privileged') {
    return { state: 'ok', text: `namespace ${namespace} enforces Pod Security ${level}, which admits the chart's defaults${level === 'privileged' ? '' : ' (proxy.stateHostPath and proxy.stateDirInit need privileged)'}` };
  }
  return { state: 'fail', text: `namespace ${namespace}: ${PSA_LABEL}=${level} is not a Pod Security level (privileged, baseline, restricted)` };
}

/** Cluster DNS can take the mesh zones (--pre), or already forwards them to the proxies (--cluster). */
async function dns(kc: KubeConfig, core: CoreV1Api, namespace: string, zones: readonly string[], pre: boolean): Promise<CheckLine> {
  const apis = { core, apps: kc.makeApiClient(AppsV1Api) };
  let observed;
  try {
    observed = await observeDns(apis);
  } catch (e) {
    return { state: 'fail', text: `cannot read cluster DNS in ${DNS_NAMESPACE}: ${errorMessage(e)}` };
  }
  let ip = '10.0.0.1';
  if (!pre) {
    const services = await kubeCall({ verb: 'list', kind: 'Service', namespace }, () => core.listNamespacedService({ namespace, labelSelector: 'app.kubernetes.io/name=hostmesh,app.kubernetes.io/component=proxy' }));
    const svc = services.items.find((s) => s.metadata?.name?.endsWith('-dns'));
    const clusterIP = svc?.spec?.clusterIP;
    if (svc === undefined || clusterIP === undefined || clusterIP === '' || clusterIP === 'None') {
      return { state: 'fail', text: `no DNS Service of the proxies (app.kubernetes.io/component=proxy, named *-dns) with a ClusterIP in namespace ${namespace}` };
    }
    ip = clusterIP;
  }
  try {
    const plan = planDnsPatch(observed, ip, zones);
    const where = plan.strategy ?? 'cluster DNS';
    if (pre) return { state: 'ok', text: `cluster DNS can forward ${zones.join(', ')} to the proxies (${where})` };
    return plan.writes.length === 0
      ? { state: 'ok', text: `cluster DNS forwards ${zones.join(', ')} to the proxies' DNS Service ${ip} (${where})` }
      : { state: 'fail', text: `cluster DNS does not forward ${zones.join(', ')} to ${ip} yet (${where}: ${plan.writes.map((w) => `${w.action} ConfigMap ${w.namespace}/${w.name}`).join(', ')} pending; is the controller running with --patch-dns?)` };
  } catch (e) {
    return { state: 'fail', text: errorMessage(e) };
  }
}

async function workloads(kc: KubeConfig, namespace: string): Promise<{ lines: CheckLine[]; controller: V1Deployment | undefined }> {
  const apps = kc.makeApiClient(AppsV1Api);
  const selector = (component: string) => `app.kubernetes.io/name=hostmesh,app.kubernetes.io/component=${component}`;
  const out: CheckLine[] = [];
  let controller: V1Deployment | undefined;
  try {
    const deployments = await kubeCall({ verb: 'list', kind: 'Deployment', namespace }, () => apps.listNamespacedDeployment({ namespace, labelSelector: selector('controller') }));
    const d = deployments.items[0];
    controller = d;
    if (d === undefined) out.push({ state: 'fail', text: `no controller Deployment (app.kubernetes.io/component=controller) in namespace ${namespace}` });
    else if ((d.status?.readyReplicas ?? 0) >= 1) out.push({ state: 'ok', text: `controller ${namespace}/${d.metadata?.name} is ready` });
    else out.push({ state: 'fail', text: `controller ${namespace}/${d.metadata?.name} is not ready (${d.status?.readyReplicas ?? 0} of ${d.spec?.replicas ?? 1} replicas)` });
  } catch (e) {
    out.push({ state: 'fail', text: errorMessage(e) });
  }
  try {
    const sets = await kubeCall({ verb: 'list', kind: 'DaemonSet', namespace }, () => apps.listNamespacedDaemonSet({ namespace, labelSelector: selector('proxy') }));
    const ds = sets.items[0];
    if (ds === undefined) {
      out.push({ state: 'fail', text: `no proxy DaemonSet (app.kubernetes.io/component=proxy) in namespace ${namespace}` });
    } else {
      const want = ds.status?.desiredNumberScheduled ?? 0;
      const ready = ds.status?.numberReady ?? 0;
      out.push(want > 0 && ready >= want
        ? { state: 'ok', text: `proxies ${namespace}/${ds.metadata?.name}: ${ready} of ${want} ready` }
        : { state: 'fail', text: `proxies ${namespace}/${ds.metadata?.name}: ${ready} of ${want} ready` });
    }
  } catch (e) {
    out.push({ state: 'fail', text: errorMessage(e) });
  }
  return { lines: out, controller };
}

export async function checkCluster(opts: ClusterCheckOptions): Promise<CheckLine[]> {
  const kc = opts.kubeConfig;
  const lines: CheckLine[] = [await apiVersion(kc)];
  // Without the API nothing else can be asked.
  if (lines[0]!.state === 'fail') return lines;
  const core = kc.makeApiClient(CoreV1Api);
  lines.push(await podSecurity(core, opts.namespace, opts.pre));
  if (opts.pre) lines.push(await checkInstallAccess(kc, opts.namespace));
  let controllerArgs: string[] | undefined;
  if (!opts.pre) {
    const installed = await workloads(kc, opts.namespace);
    lines.push(...installed.lines);
    if (installed.controller !== undefined) {
      controllerArgs = installed.controller.spec?.template.spec?.containers[0]?.args ?? [];
      lines.push(await checkControllerAccess(kc, installed.controller, opts.namespace));
    }
  }
  lines.push(await dns(kc, core, opts.namespace, opts.zones, opts.pre));
  if (!opts.pre) lines.push(await checkProxyDns(kc, opts.namespace, opts.zones[0] ?? 'hostmesh', opts.dnsTimeoutMs));
  if (!opts.pre && opts.proxies) lines.push(await opts.proxies());
  lines.push(...await checkCrds(kc, (opts.crds ?? crdsRead)(controllerArgs)));
  return lines;
}
