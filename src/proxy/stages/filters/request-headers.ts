/**
 * `requestHeaders` filters (Gateway API RequestHeaderModifier): set, add and remove headers of
 * the request sent to the backend. They edit the backend header list the exchange builds once
 * (`ex.backendHeaders()`, a flat name/value list), so every attempt and a mirror copy carry
 * them. `add` appends to an existing field's value with `,`, as the Gateway API asks.
 */
import type { HeaderFilter } from '../../../table/index.ts';
import type { Exchange } from '../../http/exchange.ts';

/** A request-side filter step; false when it answered the request itself (nothing follows). */
export type FilterStep = (ex: Exchange) => boolean;

function indexOf(list: readonly string[], lower: string, from = 0): number {
  for (let i = from; i < list.length; i += 2) if (list[i]!.length === lower.length && list[i]!.toLowerCase() === lower) return i;
  return -1;
}

export function removeHeader(list: string[], lower: string): void {
  let i = indexOf(list, lower);
  while (i >= 0) {
    list.splice(i, 2);
    i = indexOf(list, lower, i);
  }
}

export function setHeader(list: string[], name: string, value: string): void {
  const lower = name.toLowerCase();
  const i = indexOf(list, lower);
  if (i < 0) {
    list.push(name, value);
    return;
  }
  list[i + 1] = value;
  // Later fields of the same name go: a set header has exactly the value set.
  let j = indexOf(list, lower, i + 2);
  while (j >= 0) {
    list.splice(j, 2);
    j = indexOf(list, lower, j);
  }
}

export function addHeader(list: string[], name: string, value: string): void {
  const i = indexOf(list, name.toLowerCase());
  if (i < 0) list.push(name, value);
  else list[i + 1] = `${list[i + 1]!},${value}`;
}

export function requestHeadersStep(f: HeaderFilter): FilterStep {
  const set = f.set ?? [];
  const add = f.add ?? [];
  const remove = (f.remove ?? []).map((n) => n.toLowerCase());
  return (ex) => {
    const list = ex.backendHeaders();
    for (const h of set) setHeader(list, h.name, h.value);
    for (const h of add) addHeader(list, h.name, h.value);
    for (const n of remove) removeHeader(list, n);
    return true;
  };
}
