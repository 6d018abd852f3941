import { check } from './check.js';
import { compileTyped } from './compile.js';
import { ExprFailure, exprError, fail } from './errors.js';
import { parse } from './parse.js';
import { MAX_SOURCE_LENGTH } from './scan.js';
import { compileTemplate, isKeyExpression } from './template.js';
export { EXPR_CODES } from './errors.js';
export { MAX_SOURCE_LENGTH } from './scan.js';
const CONTEXTS = ['matcher', 'breaker', 'key'];
function build(source, context) {
    if (typeof source !== 'string')
        fail('EXPR_SYNTAX', `expected the expression as a string, found ${source === null ? 'null' : typeof source}`, 0);
    if (!CONTEXTS.includes(context))
        fail('EXPR_WRONG_CONTEXT', `unknown expression context ${String(context)}; expected matcher, breaker or key`, 0);
    if (source.length > MAX_SOURCE_LENGTH) {
        fail('EXPR_TOO_LONG', `the expression is ${source.length} characters long; the limit is ${MAX_SOURCE_LENGTH}`, MAX_SOURCE_LENGTH);
    }
    if (source.trim() === '') {
        fail('EXPR_EMPTY', context === 'key'
            ? 'the key is empty; write a template such as {remote.ip}'
            : 'the expression is empty; write true or false to match every request or none', 0);
    }
    if (context === 'key' && !isKeyExpression(source))
        return compileTemplate(source);
    return compileTyped(check(parse(source), context));
}
function failure(e, source) {
    const src = typeof source === 'string' ? source : '';
    if (e instanceof ExprFailure)
        return exprError(e.code, e.message, e.index, src);
    // Bounded nesting makes this unreachable in practice; it is still never a crash.
    if (e instanceof RangeError)
        return exprError('EXPR_TOO_DEEP', 'the expression is nested too deeply', 0, src);
    return exprError('EXPR_INTERNAL', `internal error while compiling: ${e instanceof Error ? e.message : String(e)}`, 0, src);
}
/** Compiles `source` for `context`; never throws. */
export function compile(source, context) {
    try {
        return { ok: true, fn: build(source, context) };
    }
    catch (e) {
        return { ok: false, error: failure(e, source) };
    }
}
export function compileMatcher(source) {
    return compile(source, 'matcher');
}
export function compileBreaker(source) {
    return compile(source, 'breaker');
}
export function compileKey(source) {
    return compile(source, 'key');
}
/** The error a source has in `context`, or undefined when it compiles (for translation). */
export function checkExpression(source, context) {
    const r = compile(source, context);
    return r.ok ? undefined : r.error;
}
/**
 * The functions an expression calls (e.g. `LatencyAtQuantileMS`), read from its tree; empty
 * when it does not parse. Lets a caller prepare only what the expression will read.
 */
export function callsIn(source) {
    const names = new Set();
    let root;
    try {
        root = parse(source);
    }
    catch {
        return names;
    }
    const visit = (n) => {
        switch (n.kind) {
            case 'call':
                names.add(n.name);
                n.args.forEach(visit);
                break;
            case 'list':
                n.items.forEach(visit);
                break;
            case 'object':
                for (const e of n.entries)
                    visit(e.value);
                break;
            case 'not':
            case 'negate':
                visit(n.arg);
                break;
            case 'logical':
            case 'concat':
                n.args.forEach(visit);
                break;
            case 'compare':
                visit(n.left);
                visit(n.right);
                break;
            case 'conditional':
                visit(n.test);
                visit(n.then);
                visit(n.else);
                break;
            default: break;
        }
    };
    visit(root);
    return names;
}
/**
 * An error on two or three lines for logs and `hostmesh check`: the message, then the source
 * line with a caret under the column.
 */
export function formatExprError(e) {
    const head = `${e.code} at column ${e.column}: ${e.message}`;
    if (e.source === '')
        return head;
    const index = e.column - 1;
    const lineStart = index === 0 ? 0 : e.source.lastIndexOf('\n', index - 1) + 1;
    let lineEnd = e.source.indexOf('\n', index);
    if (lineEnd < 0)
        lineEnd = e.source.length;
    // A window of the line around the column keeps long sources readable.
    const from = Math.max(lineStart, index - 60);
    const to = Math.min(lineEnd, index + 60);
    const shown = e.source.slice(from, to).replace(/[\t\r]/g, ' ');
    const prefix = from > lineStart ? '…' : '';
    const suffix = to < lineEnd ? '…' : '';
    return `${head}\n  ${prefix}${shown}${suffix}\n  ${' '.repeat(prefix.length + index - from)}^`;
}
