/**
 * `responseHeaders` filters (Gateway API ResponseHeaderModifier): set, add and remove headers of
 * the backend's response before its head reaches the client (the response-edits attempt stage
 * applies them). `add` appends (`Set-Cookie` as one more field, others with `,`).
 */
import type { HeaderFilter } from '../../../table/index.ts';
import type { ResponseEdit } from '../../http/exchange.ts';

export function responseHeadersEdit(f: HeaderFilter): ResponseEdit {
  const set = (f.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const add = (f.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const remove = (f.remove ?? []).map((n) => n.toLowerCase());
  return (headers) => {
    for (const [name, value] of set) headers[name] = value;
    for (const [name, value] of add) {
      const old = headers[name];
      if (old === undefined) headers[name] = value;
      else if (Array.isArray(old)) headers[name] = [...old, value];
      else headers[name] = name === 'set-cookie' ? [old, value] : `${old},${value}`;
    }
    for (const name of remove) delete headers[name];
  };
}

/** Several edits as one, in order; undefined when there are none. */
export function combineEdits(edits: readonly ResponseEdit[]): ResponseEdit | undefined {
  if (edits.length === 0) return undefined;
  if (edits.length === 1) return edits[0];
  return (headers) => {
    for (const e of edits) e(headers);
  };
}
