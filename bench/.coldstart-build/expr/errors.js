/**
 * Expression errors are values, not exceptions: compilation never throws to its caller. Inside
 * the compiler a failure unwinds with ExprFailure and is caught once, at the public entry.
 */
export const EXPR_CODES = [
    'EXPR_SYNTAX',
    'EXPR_EMPTY',
    'EXPR_TOO_LONG',
    'EXPR_TOO_DEEP',
    'EXPR_UNKNOWN_NAME',
    'EXPR_UNKNOWN_PLACEHOLDER',
    'EXPR_WRONG_CONTEXT',
    'EXPR_ARITY',
    'EXPR_ARG_TYPE',
    'EXPR_ARG_VALUE',
    'EXPR_BAD_PATTERN',
    'EXPR_OPERAND_TYPE',
    'EXPR_NOT_BOOLEAN',
    'EXPR_NOT_STRING',
    'EXPR_INTERNAL',
];
/** Thrown inside the compiler only; `index` is 0-based into the source. */
export class ExprFailure {
    code;
    message;
    index;
    constructor(code, message, index) {
        this.code = code;
        this.message = message;
        this.index = index;
    }
}
export function fail(code, message, index) {
    throw new ExprFailure(code, message, index);
}
export function exprError(code, message, index, source) {
    const last = Math.max(1, source.length);
    const column = Number.isFinite(index) ? Math.min(Math.max(1, Math.trunc(index) + 1), last) : 1;
    return { code, message, column, source };
}
/** Show a value inside a message: quoted, control characters escaped, long values cut. */
export function show(value, max = 40) {
    const cut = value.length > max ? `${value.slice(0, max)}…` : value;
    return JSON.stringify(cut);
}
