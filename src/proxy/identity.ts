/**
 * The client identity lookup: which pod (namespace, ServiceAccount) a connection comes from,
 * by its source address, from the table's identity map (`RoutingTable.identities`). One object
 * per engine that HTTP routes (client-scoped rules) and the L4 listeners keep a reference to;
 * an apply that changes the map swaps its contents at commit, so a lookup always sees one
 * whole table's map. A source address not in the map is an unknown client (undefined).
 */
import { identityKey } from '../table/index.ts';
import type { IdentityEntry } from '../table/index.ts';

/** What a stage or a listener asks: the identity behind a connection's remote address. */
export interface IdentityLookup {
  /** The identity of `remoteAddress` (as `socket.remoteAddress` gives it; IPv4-mapped IPv6 is unwrapped). */
  identify(remoteAddress: string | undefined): IdentityEntry | undefined;
  /** Entries known (for diagnostics and tests). */
  readonly size: number;
  /**
   * Changes whenever the map does: what a connection cached from a lookup (ACL mode's decision)
   * is stale once this differs.
   */
  readonly generation: number;
}

const CONNECTION_IDENTITY = Symbol('hostmesh.identity');

interface CachedIdentity {
  lookup: IdentityLookup;
  generation: number;
  identity: IdentityEntry | undefined;
}

/** A client connection (a socket, or HTTP/2's socket proxy, which keeps properties on the session's socket). */
export interface IdentifiedConnection {
  readonly remoteAddress?: string | undefined;
  [CONNECTION_IDENTITY]?: CachedIdentity;
}

/**
 * The identity behind a connection, looked up once per connection and identity map generation
 * and cached on the connection: every user on the request path (ACL mode's access stage, the
 * access log's `identity`, client-scoped rules) shares that one lookup, so a kept-alive
 * connection's requests add none until the map changes.
 */
export function connectionIdentity(lookup: IdentityLookup, connection: IdentifiedConnection): IdentityEntry | undefined {
  const generation = lookup.generation;
  const cached = connection[CONNECTION_IDENTITY];
  if (cached !== undefined && cached.generation === generation && cached.lookup === lookup) return cached.identity;
  const identity = lookup.identify(connection.remoteAddress);
  connection[CONNECTION_IDENTITY] = { lookup, generation, identity };
  return identity;
}

export class IdentityMap implements IdentityLookup {
  #byAddress: ReadonlyMap<string, IdentityEntry> = new Map();
  /** The entries array the current map was built from, so an unchanged map is not rebuilt. */
  #source: readonly IdentityEntry[] | undefined = undefined;
  #generation = 0;

  identify(remoteAddress: string | undefined): IdentityEntry | undefined {
    if (remoteAddress === undefined || this.#byAddress.size === 0) return undefined;
    return this.#byAddress.get(identityKey(remoteAddress));
  }

  get size(): number {
    return this.#byAddress.size;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The map for `entries`, built but not installed (an apply builds before it commits). */
  plan(entries: readonly IdentityEntry[] | undefined): (() => void) | undefined {
    if (entries === this.#source) return undefined;
    const next = new Map<string, IdentityEntry>();
    for (const e of entries ?? []) next.set(identityKey(e.address), e);
    return () => {
      this.#byAddress = next;
      this.#source = entries;
      this.#generation++;
    };
  }
}
