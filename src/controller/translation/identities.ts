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
import type { PodChange, PodObject } from '../objects.ts';
import { cmp } from './diagnostics.ts';

/**
 * An identity map and what it cannot show: the pods claiming each address two or more running
 * pods claim (left out of the map), by `namespace/name`.
 */
interface Built {
  entries: IdentityEntry[];
  ambiguous: ReadonlyMap<string, readonly string[]>;
}

/** The map built from a pods list, by the list (a source keeps one list until a pod changes). */
const built = new WeakMap<readonly PodObject[], Built>();

export function buildIdentities(pods: readonly PodObject[] | undefined): IdentityEntry[] {
  if (pods === undefined) return [];
  let out = built.get(pods);
  if (out === undefined) {
    out = identitiesOf(pods);
    built.set(pods, out);
  }
  return out.entries;
}

/**
 * The identity map of `pods`, which is `base` (whose map was built) with `changes` made in
 * order: only the addresses the changed pods claimed or claim are looked at, and when none of
 * them moves (a readiness flip, a new label) it is the same array as before. Equal to
 * buildIdentities(pods) (test/controller/identities.test.ts).
 */
export function patchIdentities(base: readonly PodObject[] | undefined, pods: readonly PodObject[] | undefined, changes: readonly PodChange[]): IdentityEntry[] {
  const from = base === undefined ? undefined : built.get(base);
  if (from === undefined || pods === undefined) return buildIdentities(pods);
  let done = built.get(pods);
  if (done !== undefined) return done.entries;
  let entries = from.entries;
  let ambiguous = from.ambiguous;
  const write = (): void => {
    if (entries === from.entries) entries = [...entries];
    if (ambiguous === from.ambiguous) ambiguous = new Map(ambiguous);
  };
  const at = (address: string): { index: number; found: boolean } => {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(entries[mid]!.address, address) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: entries[lo]?.address === address };
  };
  /** Sets the claimants of `address` (entry: the one claiming pod's entry, when only one). */
  const settle = (address: string, claimants: readonly string[], entry: IdentityEntry | undefined): void => {
    write();
    const a = ambiguous as Map<string, readonly string[]>;
    if (claimants.length >= 2) a.set(address, claimants);
    else a.delete(address);
    const { index, found } = at(address);
    if (entry === undefined) {
      if (found) entries.splice(index, 1);
    } else if (found) entries[index] = entry;
    else entries.splice(index, 0, entry);
  };
  for (const { before, after } of changes) {
    const old = before === undefined ? undefined : claimOf(before);
    const now = after === undefined ? undefined : claimOf(after);
    if (sameClaim(old, now)) continue;
    if (old !== undefined) {
      for (const address of old.addresses) {
        const others = ambiguous.get(address);
        if (others === undefined) {
          const { index, found } = at(address);
          if (found && entries[index]!.pod === old.pod) settle(address, [], undefined);
          continue;
        }
        const rest = others.filter((p) => p !== old.pod);
        // The one pod left claiming the address gets it (as it is in the new list).
        settle(address, rest, rest.length === 1 ? entryFor(pods, rest[0]!, address) : undefined);
      }
    }
    if (now !== undefined) {
      for (const address of now.addresses) {
        const others = ambiguous.get(address);
        const { index, found } = at(address);
        const claimants = others !== undefined ? [...others, now.pod] : found ? [entries[index]!.pod ?? '', now.pod] : [now.pod];
        settle(address, claimants, claimants.length === 1 ? now.entry(address) : undefined);
      }
    }
  }
  done = { entries, ambiguous };
  built.set(pods, done);
  return entries;
}

/** What a pod claims in the identity map: undefined when it claims nothing (not running, host network, no name). */
interface Claim {
  pod: string;
  serviceAccount: string;
  addresses: readonly string[];
  entry: (address: string) => IdentityEntry;
}

function claimOf(pod: PodObject): Claim | undefined {
  const name = pod?.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  if (pod.status?.phase !== 'Running' || pod.spec?.hostNetwork === true) return undefined;
  const namespace = pod.metadata.namespace || 'default';
  const sa = pod.spec?.serviceAccountName || pod.spec?.serviceAccount;
  const serviceAccount = typeof sa === 'string' && sa !== '' ? sa : 'default';
  const id = `${namespace}/${name}`;
  return { pod: id, serviceAccount, addresses: podAddresses(pod), entry: (address) => ({ address, namespace, serviceAccount, pod: id }) };
}

function sameClaim(a: Claim | undefined, b: Claim | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.pod === b.pod && a.serviceAccount === b.serviceAccount && a.addresses.length === b.addresses.length && a.addresses.every((x, i) => x === b.addresses[i]);
}

/** The entry of pod `id` (`namespace/name`) for `address`, from `pods` (sorted by namespace and name). */
function entryFor(pods: readonly PodObject[], id: string, address: string): IdentityEntry | undefined {
  const slash = id.indexOf('/');
  const namespace = id.slice(0, slash);
  const name = id.slice(slash + 1);
  let lo = 0;
  let hi = pods.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = pods[mid]!.metadata;
    const o = cmp(m?.namespace || 'default', namespace) || cmp(m?.name ?? '', name);
    if (o < 0) lo = mid + 1;
    else if (o > 0) hi = mid - 1;
    else return claimOf(pods[mid]!)?.entry(address);
  }
  // Not sorted as expected: find it the slow way.
  const pod = pods.find((p) => (p?.metadata?.namespace || 'default') === namespace && p?.metadata?.name === name);
  return pod === undefined ? undefined : claimOf(pod)?.entry(address);
}

function identitiesOf(pods: readonly PodObject[]): Built {
  const byAddress = new Map<string, IdentityEntry | string[]>();
  for (const pod of pods) {
    const claim = claimOf(pod);
    if (claim === undefined) continue;
    for (const address of claim.addresses) {
      const seen = byAddress.get(address);
      byAddress.set(address, seen === undefined ? claim.entry(address) : Array.isArray(seen) ? [...seen, claim.pod] : [seen.pod ?? '', claim.pod]);
    }
  }
  const entries: IdentityEntry[] = [];
  const ambiguous = new Map<string, readonly string[]>();
  for (const [address, entry] of byAddress) {
    if (Array.isArray(entry)) ambiguous.set(address, entry);
    else entries.push(entry);
  }
  return { entries: entries.toSorted((a, b) => cmp(a.address, b.address)), ambiguous };
}

/** status.podIPs, or status.podIP on an older object; each address once. */
function podAddresses(pod: PodObject): string[] {
  const list = Array.isArray(pod.status?.podIPs) ? pod.status.podIPs.map((p) => p?.ip) : [pod.status?.podIP];
  return [...new Set(list.filter((ip): ip is string => typeof ip === 'string' && isIP(ip) !== 0))];
}
