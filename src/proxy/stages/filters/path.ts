/** Path modifiers of redirects and rewrites (Gateway API `ReplaceFullPath`, `ReplacePrefixMatch`). */
import type { PathModifier } from '../../../table/index.ts';

/** The path and the query (with its `?`, or '') of a request target. */
export function splitTarget(target: string): [path: string, query: string] {
  const q = target.indexOf('?');
  return q < 0 ? [target, ''] : [target.slice(0, q), target.slice(q)];
}

/**
 * The new path. `ReplacePrefixMatch` replaces the first `prefixLength` characters (the rule's
 * PathPrefix match, without its trailing `/`) so that `/foo` -> `/xyz` makes `/foo/bar`
 * `/xyz/bar`, and `/` as the replacement makes it `/bar`; no prefix matched leaves the path.
 */
export function replacePath(mod: PathModifier, path: string, prefixLength: number): string {
  if (mod.type === 'ReplaceFullPath') return mod.value;
  if (prefixLength < 0) return path;
  const rest = path.slice(prefixLength);
  const head = mod.value.endsWith('/') ? mod.value.slice(0, -1) : mod.value;
  const out = head + rest;
  return out === '' ? '/' : out;
}
