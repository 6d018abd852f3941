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
] as const;

export type ExprErrorCode = (typeof EXPR_CODES)[number];

export interface ExprError {
  /** Stable: scripts, tests and status output match on it. */
  code: ExprErrorCode;
  /** For people: what was expected and what was found. */
  message: string;
  /** 1-based character position in `source`, always within 1..max(1, source.length). */
  column: number;
  source: string;
}

export type CompileResult<T> = { ok: true; fn: T } | { ok: false; error: ExprError };

/** Thrown inside the compiler only; `index` is 0-based into the source. */
export class ExprFailure {
  readonly code: ExprErrorCode;
  readonly message: string;
  readonly index: number;

  constructor(code: ExprErrorCode, message: string, index: number) {
    this.code = code;
    this.message = message;
    this.index = index;
  }
}

export function fail(code: ExprErrorCode, message: string, index: number): never {
  throw new ExprFailure(code, message, index);
}

export function exprError(code: ExprErrorCode, message: string, index: number, source: string): ExprError {
  const last = Math.max(1, source.length);
  const column = Number.isFinite(index) ? Math.min(Math.max(1, Math.trunc(index) + 1), last) : 1;
  return { code, message, column, source };
}

/** Show a value inside a message: quoted, control characters escaped, long values cut. */
export function show(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
