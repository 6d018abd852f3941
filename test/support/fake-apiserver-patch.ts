/**
 * PATCH bodies the fake API server accepts: JSON merge patch (RFC 7386), strategic merge patch
 * (applied as a merge patch: lists are replaced, not merged by key, and `$patch` directives are
 * not understood) and JSON patch (RFC 6902). `PatchError` becomes 422 like the real server.
 */

export class PatchError extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

/** The container that holds the last token, walking every token but the last. */
function parentOf(doc: unknown, tokens: string[], pointer: string): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  return cur;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last];
  throw new PatchError(`path "${pointer}" does not exist`);
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const old = parent[last];
    delete parent[last];
    return old;
  }
  throw new PatchError(`path "${pointer}" does not exist`);
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return structuredClone(value);
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) {
    if (replace) parent[arrayIndex(parent, last, false)] = structuredClone(value);
    else parent.splice(arrayIndex(parent, last, true), 0, structuredClone(value));
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw new PatchError(`path "${pointer}" does not exist`);
    parent[last] = structuredClone(value);
  } else {
    throw new PatchError(`path "${pointer}" does not exist`);
  }
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).toSorted().map((k) => [k, canonical(v[k])]));
  return v;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = structuredClone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchError(`invalid JSON patch operation ${JSON.stringify(op)}`);
    }
    const path = op.path;
    switch (op.op) {
      case 'add': doc = addAt(doc, path, op.value, false); break;
      case 'replace': doc = addAt(doc, path, op.value, true); break;
      case 'remove': removeAt(doc, path); break;
      case 'move': {
        if (typeof op.from !== 'string') throw new PatchError('move needs "from"');
        const value = removeAt(doc, op.from);
        doc = addAt(doc, path, value, false);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError('copy needs "from"');
        doc = addAt(doc, path, getAt(doc, op.from), false);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) throw new PatchError(`test operation failed at "${path}"`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return doc;
}
