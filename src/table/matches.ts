/**
 * Shape checks of structured HTTP matches (rules.ts `HttpMatch`), shared by everything in a
 * table that carries them: route rules (rule-check.ts) and the `access` policy's allowed
 * sources (policies/access.ts). Every problem names the JSON path and the offending value.
 */
import { describe } from './checker.ts';
import type { Checker, Obj } from './checker.ts';
import { isHttpToken } from './policies/tokens.ts';

const PATH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
const VALUE_TYPES = ['Exact', 'RegularExpression'] as const;

/** A regular expression compiles in JavaScript; its problem otherwise. */
function regexProblem(source: string): string | undefined {
  try {
    return new RegExp(source) instanceof RegExp ? undefined : 'does not compile';
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return text.slice(text.lastIndexOf(': ') + 2);
  }
}

function checkRegex(c: Checker, v: string, p: string): void {
  const problem = regexProblem(v);
  if (problem !== undefined) c.fail(p, `must be a regular expression, got ${describe(v)}: ${problem}`);
}

export function checkToken(c: Checker, s: string, p: string, what: string): void {
  if (!isHttpToken(s)) c.fail(p, `must be ${what} (an HTTP token), got ${describe(s)}`);
}

function checkPathMatch(c: Checker, v: unknown, p: string): void {
  const m = c.object(v, p);
  if (!m) return;
  if (!c.oneOf(m.type, `${p}.type`, PATH_TYPES) || !c.string(m.value, `${p}.value`, { nonEmpty: true })) return;
  if (m.type === 'RegularExpression') checkRegex(c, m.value, `${p}.value`);
  else if (!m.value.startsWith('/')) c.fail(`${p}.value`, `must start with /, got ${describe(m.value)}`);
  else if (/[?#]/.test(m.value)) c.fail(`${p}.value`, `must be a path without query or fragment, got ${describe(m.value)}`);
}

function checkValueMatches(c: Checker, v: unknown, p: string, header: boolean): void {
  const seen = new Set<string>();
  c.array(v, p).forEach((e, i) => {
    const at = `${p}[${i}]`;
    const m = c.object(e, at);
    if (!m) return;
    if (c.string(m.name, `${at}.name`, { nonEmpty: true })) {
      if (header) checkToken(c, m.name, `${at}.name`, 'a header name');
      const key = header ? m.name.toLowerCase() : m.name;
      if (seen.has(key)) c.fail(`${at}.name`, `matches ${describe(m.name)} twice in one match`);
      seen.add(key);
    }
    if (c.oneOf(m.type, `${at}.type`, VALUE_TYPES) && c.string(m.value, `${at}.value`) && m.type === 'RegularExpression') checkRegex(c, m.value, `${at}.value`);
  });
}

export function checkMatch(c: Checker, v: unknown, p: string): Obj | undefined {
  const m = c.object(v, p);
  if (!m) return undefined;
  if (c.optional(m, 'path')) checkPathMatch(c, m.path, `${p}.path`);
  if (c.optional(m, 'methods')) {
    const methods = c.array(m.methods, `${p}.methods`);
    if (methods.length === 0) c.fail(`${p}.methods`, 'must list at least one method (leave it out for any)');
    methods.forEach((s, i) => {
      if (c.string(s, `${p}.methods[${i}]`, { nonEmpty: true }) && s !== '*') checkToken(c, s, `${p}.methods[${i}]`, 'a method');
    });
  }
  if (c.optional(m, 'headers')) checkValueMatches(c, m.headers, `${p}.headers`, true);
  if (c.optional(m, 'queryParams')) checkValueMatches(c, m.queryParams, `${p}.queryParams`, false);
  return m;
}

/** A list of `HttpMatch` at `path` (a request matching any one of them matches the list). */
export function checkHttpMatches(c: Checker, v: unknown, path: string): void {
  c.array(v, path).forEach((m, i) => checkMatch(c, m, `${path}[${i}]`));
}
