/**
 * Structured matches of route rules (Gateway API, SMI: `RouteRule.matches`) compiled once per
 * route to closures over one reused `MatchInput`. Path: Exact, PathPrefix element-wise (`/foo`
 * matches `/foo` and `/foo/bar`, not `/foobar`), RegularExpression over the whole path. Headers
 * by case-insensitive name, query parameters by exact name (the first value counts), methods.
 * Regular expressions go through the expression language's checker (RE2 spellings, no
 * exponential backtracking) and are anchored; one that is refused makes its match never match,
 * reported as a route warning.
 */
import { compileRegexp } from '../../expr/index.ts';
import type { HttpMatch, ValueMatch } from '../../table/index.ts';
import { RequestView } from './request-view.ts';

/** The request as structured matches (and expression matchers) read it; one per route, bound per request. */
export class MatchInput extends RequestView {
  /** Length of the path prefix the last passing PathPrefix test matched; -1 when none. */
  prefix = -1;
  #path: string | undefined = undefined;
  #query: Map<string, string> | undefined = undefined;

  override unbind(): void {
    super.unbind();
    this.#path = undefined;
    this.#query = undefined;
  }

  /** The request path without its query. */
  get path(): string {
    let p = this.#path;
    if (p === undefined) {
      const url = this.url;
      const q = url.indexOf('?');
      p = q < 0 ? url : url.slice(0, q);
      this.#path = p;
    }
    return p;
  }

  /** The first value of a query parameter, parsed on first use. */
  query(name: string): string | undefined {
    let map = this.#query;
    if (map === undefined) {
      map = new Map();
      const url = this.url;
      const q = url.indexOf('?');
      if (q >= 0) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!map.has(k)) map.set(k, v);
      this.#query = map;
    }
    return map.get(name);
  }

  /** A request header by lower-case name; repeated fields joined with `,`. */
  header(lower: string): string | undefined {
    const v = this.headers[lower];
    return Array.isArray(v) ? v.join(',') : v;
  }
}

export type MatchTest = (input: MatchInput) => boolean;

/** Reports a match part that is refused (its match never matches). */
export type MatchWarn = (what: string, message: string) => void;

const never: MatchTest = () => false;

/** An anchored regular expression through the expression language's checks, or the problem. */
function anchored(source: string): RegExp | string {
  const c = compileRegexp(source);
  if (!c.ok) return c.message;
  return new RegExp(`^(?:${c.re.source})$`, c.re.flags);
}

function valueTest(m: ValueMatch, at: string, warn: MatchWarn): ((v: string) => boolean) | undefined {
  if (m.type === 'Exact') {
    const want = m.value;
    return (v) => v === want;
  }
  const re = anchored(m.value);
  if (typeof re === 'string') {
    warn(at, re);
    return undefined;
  }
  return (v) => re.test(v);
}

function compileMatch(m: HttpMatch, at: string, warn: MatchWarn): MatchTest {
  const tests: MatchTest[] = [];
  const path = m.path;
  if (path !== undefined) {
    if (path.type === 'Exact') {
      const want = path.value;
      tests.push((input) => input.path === want);
    } else if (path.type === 'PathPrefix') {
      const p = path.value.replace(/\/+$/, '');
      const len = p.length;
      tests.push((input) => {
        const actual = input.path;
        if (len === 0 || actual === p || (actual.startsWith(p) && actual.charCodeAt(len) === 47 /* '/' */)) {
          input.prefix = len;
          return true;
        }
        return false;
      });
    } else {
      const re = anchored(path.value);
      if (typeof re === 'string') {
        warn(`${at}.path`, re);
        return never;
      }
      tests.push((input) => re.test(input.path));
    }
  }
  const methods = m.methods;
  if (methods !== undefined && !methods.includes('*')) {
    const set = new Set(methods);
    tests.push((input) => set.has(input.method));
  }
  for (const [k, h] of (m.headers ?? []).entries()) {
    const test = valueTest(h, `${at}.headers[${k}]`, warn);
    if (test === undefined) return never;
    const name = h.name.toLowerCase();
    tests.push((input) => {
      const v = input.header(name);
      return v !== undefined && test(v);
    });
  }
  for (const [k, q] of (m.queryParams ?? []).entries()) {
    const test = valueTest(q, `${at}.queryParams[${k}]`, warn);
    if (test === undefined) return never;
    const name = q.name;
    tests.push((input) => {
      const v = input.query(name);
      return v !== undefined && test(v);
    });
  }
  if (tests.length === 1) {
    const only = tests[0]!;
    return (input) => {
      input.prefix = -1;
      return only(input);
    };
  }
  return (input) => {
    input.prefix = -1;
    for (const t of tests) if (!t(input)) return false;
    return true;
  };
}

/** A rule's `matches` as one test: any of them holds (`at` is the rule's path in warnings). */
export function compileMatches(matches: readonly HttpMatch[], at: string, warn: MatchWarn): MatchTest {
  const tests = matches.map((m, j) => compileMatch(m, `${at}.matches[${j}]`, warn)).filter((t) => t !== never);
  if (tests.length === 0) return never;
  if (tests.length === 1) return tests[0]!;
  return (input) => {
    for (const t of tests) if (t(input)) return true;
    return false;
  };
}
