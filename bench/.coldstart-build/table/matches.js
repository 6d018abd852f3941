import { describe } from './checker.js';
const PATH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'];
const VALUE_TYPES = ['Exact', 'RegularExpression'];
/** An HTTP method token, or `*` (any method). */
const METHOD = /^(\*|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/;
/** One `HttpMatch` at `path`. */
export function checkHttpMatch(c, v, path) {
    const m = c.object(v, path);
    if (!m)
        return;
    if (c.optional(m, 'path')) {
        const p = c.object(m.path, `${path}.path`);
        if (p) {
            c.oneOf(p.type, `${path}.path.type`, PATH_TYPES);
            if (c.string(p.value, `${path}.path.value`, { nonEmpty: true }) && p.type !== 'RegularExpression' && !p.value.startsWith('/')) {
                c.fail(`${path}.path.value`, `must start with "/", got ${describe(p.value)}`);
            }
        }
    }
    if (c.optional(m, 'methods')) {
        const methods = c.array(m.methods, `${path}.methods`);
        if (methods.length === 0)
            c.fail(`${path}.methods`, 'must list at least one method (leave it out for any method)');
        methods.forEach((x, i) => {
            if (c.string(x, `${path}.methods[${i}]`) && !METHOD.test(x))
                c.fail(`${path}.methods[${i}]`, `must be an HTTP method or "*", got ${describe(x)}`);
        });
    }
    for (const field of ['headers', 'queryParams']) {
        if (!c.optional(m, field))
            continue;
        c.array(m[field], `${path}.${field}`).forEach((x, i) => {
            const at = `${path}.${field}[${i}]`;
            const vm = c.object(x, at);
            if (!vm)
                return;
            c.oneOf(vm.type, `${at}.type`, VALUE_TYPES);
            c.string(vm.name, `${at}.name`, { nonEmpty: true });
            c.string(vm.value, `${at}.value`);
        });
    }
}
/** A list of `HttpMatch` at `path` (a request matching any one of them matches the list). */
export function checkHttpMatches(c, v, path) {
    c.array(v, path).forEach((m, i) => checkHttpMatch(c, m, `${path}[${i}]`));
}
