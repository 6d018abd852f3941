/** Walks untrusted table values and collects problems with their JSON paths. */

export interface TableProblem {
  /** JSON path of the offending value, e.g. `$.routes[2].backends[0].cluster`. */
  path: string;
  message: string;
}

const MAX_PROBLEMS = 50;

export type Obj = Record<string, unknown>;

/** Collects problems while a table is walked; policy modules (policies/) check their part with it. */
export class Checker {
  readonly problems: TableProblem[] = [];

  fail(path: string, message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ path, message });
  }

  object(v: unknown, path: string): Obj | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.fail(path, `must be an object, got ${describe(v)}`);
    return undefined;
  }

  array(v: unknown, path: string): unknown[] {
    if (Array.isArray(v)) return v;
    this.fail(path, `must be an array, got ${describe(v)}`);
    return [];
  }

  string(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): v is string {
    if (typeof v !== 'string') {
      this.fail(path, `must be a string, got ${describe(v)}`);
      return false;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.fail(path, 'must not be empty');
      return false;
    }
    return true;
  }

  integer(v: unknown, path: string, min: number, max: number): v is number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer in ${min}..${max}, got ${describe(v)}`);
      return false;
    }
    return true;
  }

  number(v: unknown, path: string, min: number, max: number): v is number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(path, `must be a number in ${min}..${max}, got ${describe(v)}`);
      return false;
    }
    return true;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): v is T {
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return true;
    this.fail(path, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    return false;
  }

  optional(o: Obj, key: string): boolean {
    return o[key] !== undefined;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export const MAX_MS = 24 * 3600 * 1000;
