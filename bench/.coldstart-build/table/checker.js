/** Walks untrusted table values and collects problems with their JSON paths. */
const MAX_PROBLEMS = 50;
/** Collects problems while a table is walked; policy modules (policies/) check their part with it. */
export class Checker {
    problems = [];
    fail(path, message) {
        if (this.problems.length < MAX_PROBLEMS)
            this.problems.push({ path, message });
    }
    object(v, path) {
        if (typeof v === 'object' && v !== null && !Array.isArray(v))
            return v;
        this.fail(path, `must be an object, got ${describe(v)}`);
        return undefined;
    }
    array(v, path) {
        if (Array.isArray(v))
            return v;
        this.fail(path, `must be an array, got ${describe(v)}`);
        return [];
    }
    string(v, path, opts = {}) {
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
    integer(v, path, min, max) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
            this.fail(path, `must be an integer in ${min}..${max}, got ${describe(v)}`);
            return false;
        }
        return true;
    }
    number(v, path, min, max) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
            this.fail(path, `must be a number in ${min}..${max}, got ${describe(v)}`);
            return false;
        }
        return true;
    }
    oneOf(v, path, allowed) {
        if (typeof v === 'string' && allowed.includes(v))
            return true;
        this.fail(path, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
        return false;
    }
    optional(o, key) {
        return o[key] !== undefined;
    }
}
export function describe(v) {
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'an array';
    if (typeof v === 'string')
        return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
    if (typeof v === 'object')
        return 'an object';
    return `${typeof v} ${String(v)}`;
}
export const MAX_MS = 24 * 3600 * 1000;
