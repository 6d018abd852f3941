/**
 * HTTPRouteGroup matches -> the rule model's structured matches (docs/rule-model.md):
 *
 * - `pathRegex` is anchored at the start of the path only (SMI: "anchored (^) to the beginning
 *   of the URI"), while a RegularExpression path match must match the whole path, so `.*` is
 *   appended unless the expression already ends with `$` or `.*`: `/api` matches `/api/users`.
 * - `methods`: `*` (anywhere in the list) means any method, written as no method condition.
 * - `headers`: name -> regular expression that must be found in the value (as Traefik Mesh
 *   reads them), written as a whole-value RegularExpression: `.*` is added on a side that is
 *   not already anchored (`^`, `$`) or open (`.*`), so `Firefox` becomes `.*(?:Firefox).*` and
 *   `.*Android.*` stays as it is.
 *
 * Regular expressions are checked here with the proxy's own compiler (RE2 spellings, no
 * backtracking blow-ups), so a bad one is reported against its object rather than at a proxy.
 */
import { compileRegexp } from '../../../expr/regexp.js';
export function toHttpMatch(m) {
    const out = {};
    if (m.pathRegex !== undefined) {
        const problem = regexProblem(m.pathRegex);
        if (problem)
            return { ok: false, problem: `match ${JSON.stringify(m.name)}: pathRegex ${JSON.stringify(m.pathRegex)}: ${problem}` };
        const open = m.pathRegex.endsWith('$') || m.pathRegex.endsWith('.*') ? m.pathRegex : `(?:${m.pathRegex}).*`;
        out.path = { type: 'RegularExpression', value: open };
    }
    if (m.methods !== undefined && !m.methods.includes('*'))
        out.methods = [...new Set(m.methods.map((x) => x.toUpperCase()))];
    for (const h of m.headers ?? []) {
        const problem = regexProblem(h.regex);
        if (problem)
            return { ok: false, problem: `match ${JSON.stringify(m.name)}: header ${h.name} ${JSON.stringify(h.regex)}: ${problem}` };
        (out.headers ??= []).push({ type: 'RegularExpression', name: h.name, value: searchRegex(h.regex) });
    }
    return { ok: true, match: out };
}
/** Whether a structured match holds for every request. */
export function matchesEverything(m) {
    return m.path === undefined && m.methods === undefined && m.headers === undefined && m.queryParams === undefined;
}
function regexProblem(source) {
    const c = compileRegexp(source);
    return c.ok ? undefined : `not a usable regular expression: ${c.message}`;
}
/** A find-anywhere expression as a whole-value one. */
function searchRegex(re) {
    const start = re.startsWith('^') || re.startsWith('.*');
    const end = (re.endsWith('$') && !re.endsWith('\\$')) || re.endsWith('.*');
    if (start && end)
        return re;
    return `${start ? '' : '.*'}(?:${re})${end ? '' : '.*'}`;
}
