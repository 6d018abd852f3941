/**
 * Pods -> the identity map (`RoutingTable.identities`): which namespace and ServiceAccount a
 * client address belongs to, for consumer routes (GAMMA) and ACL mode. Pure.
 *
 * Only pods that run (phase Running) with their own addresses count: a host-network pod shares
 * its node's address with every other host-network pod, so that address says nothing about who
 * connects. An address two running pods claim at once (a reused IP not yet released) is left out
 * rather than guessed: an unknown client gets what unknown clients get.
 */
import { isIP } from 'node:net';
import type { IdentityEntry } from '../../table/index.ts';
import type { PodObject } from '../objects.ts';
import { cmp } from './diagnostics.ts';

/** The map built from a pods list, by the list (a source keeps one list until a pod changes). */
const built = new WeakMap<readonly PodObject[], IdentityEntry[]>();

export function buildIdentities(pods: readonly PodObject[] | undefined): IdentityEntry[] {
  if (pods === undefined) return [];
  let out = built.get(pods);
  if (out === undefined) {
    out = identitiesOf(pods);
    built.set(pods, out);
  }
  return out;
}

function identitiesOf(pods: readonly PodObject[]): IdentityEntry[] {
  const byAddress = new Map<string, IdentityEntry | 'ambiguous'>();
  for (const pod of pods) {
    const name = pod?.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    if (pod.status?.phase !== 'Running' || pod.spec?.hostNetwork === true) continue;
    const namespace = pod.metadata.namespace || 'default';
    const sa = pod.spec?.serviceAccountName || pod.spec?.serviceAccount;
    const serviceAccount = typeof sa === 'string' && sa !== '' ? sa : 'default';
    for (const address of podAddresses(pod)) {
      const seen = byAddress.get(address);
      byAddress.set(address, seen === undefined ? { address, namespace, serviceAccount, pod: `${namespace}/${name}` } : 'ambiguous');
    }
  }
  const out: IdentityEntry[] = [];
  for (const entry of byAddress.values()) if (entry !== 'ambiguous') out.push(entry);
  return out.toSorted((a, b) => cmp(a.address, b.address));
}

/** status.podIPs, or status.podIP on an older object; each address once. */
function podAddresses(pod: PodObject): string[] {
  const list = Array.isArray(pod.status?.podIPs) ? pod.status.podIPs.map((p) => p?.ip) : [pod.status?.podIP];
  return [...new Set(list.filter((ip): ip is string => typeof ip === 'string' && isIP(ip) !== 0))];
}
