/**
 * Label and field selectors as the API server parses them (`labelSelector=`, `fieldSelector=`
 * query parameters). Parsing returns a matcher; bad syntax throws `SelectorError`, which the
 * server answers with 400 BadRequest like the real one.
 */

export class SelectorError extends Error {}

export type LabelRequirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export type Labels = Readonly<Record<string, string>> | undefined;

// Qualified name: optional DNS subdomain prefix + '/' + name of up to 63 characters.
const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key)) throw new SelectorError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!LABEL_VALUE.test(value)) throw new SelectorError(`invalid label value "${value}"`);
  return value;
}

/** Splits on commas that are not inside a parenthesised value set. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw new SelectorError(`unbalanced parentheses in "${selector}"`);
  }
  if (depth !== 0) throw new SelectorError(`unbalanced parentheses in "${selector}"`);
  parts.push(selector.slice(start));
  return parts;
}

function parseRequirement(raw: string): LabelRequirement {
  const text = raw.trim();
  if (text === '') throw new SelectorError('empty requirement');
  const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((v) => checkValue(v.trim()));
    return { key: checkKey(set[1]!), op: set[2] as 'in' | 'notin', values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (eq) {
    const key = checkKey(eq[1]!);
    const value = checkValue(eq[3]!);
    return { key, op: eq[2] === '!=' ? 'notin' : 'in', values: [value] };
  }
  if (text.startsWith('!')) return { key: checkKey(text.slice(1).trim()), op: 'notexists' };
  return { key: checkKey(text), op: 'exists' };
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map(parseRequirement);
}

export function matchesRequirement(req: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, req.key);
  switch (req.op) {
    case 'exists': return has;
    case 'notexists': return !has;
    case 'in': return has && req.values.includes(labels[req.key]!);
    // `!=` and `notin` match objects without the label, as the real server does.
    case 'notin': return !has || !req.values.includes(labels[req.key]!);
  }
}

export function labelMatcher(selector: string | undefined): (labels: Labels) => boolean {
  const reqs = parseLabelSelector(selector ?? '');
  if (reqs.length === 0) return () => true;
  return (labels) => reqs.every((r) => matchesRequirement(r, labels));
}

/** Field selectors: `field=value`, `field==value`, `field!=value`, comma-joined (AND). */
export function fieldMatcher(
  selector: string | undefined,
  fields: ReadonlyMap<string, (obj: KubeObject) => string | undefined>,
): (obj: KubeObject) => boolean {
  if (selector === undefined || selector.trim() === '') return () => true;
  const tests = selector.split(',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid field selector requirement "${part}"`);
    const getter = fields.get(m[1]!);
    if (!getter) throw new SelectorError(`field label not supported: ${m[1]}`);
    const want = m[3]!;
    const negate = m[2] === '!=';
    return (obj: KubeObject) => ((getter(obj) ?? '') === want) !== negate;
  });
  return (obj) => tests.every((t) => t(obj));
}

/** The loose shape of any stored object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}
