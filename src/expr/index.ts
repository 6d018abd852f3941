/**
 * The expression language of hostmesh annotations.
 *
 * - matcher (`traffic-split-expression`, `retry-on`): Caddy's request matchers in CEL-like
 *   syntax, e.g. `header({'User-Agent': '*Chrome*'}) && method('GET')`.
 * - breaker (`circuit-breaker-expression`): Traefik's, e.g. `NetworkErrorRatio() > 0.30`.
 * - key (`rate-limit-key`): a template such as `{remote.ip}` or a string expression.
 *
 * Sources are parsed (jsep), checked against their context and compiled to closures once; the
 * closures never look at the tree again. Compilation never throws: errors are values with a
 * stable code and a 1-based column. Behaviour for users is documented in docs/expressions.md.
 */
import type { Node } from './ast.ts';
import type { BreakerStats, ExprContext, MatchRequest } from './context.ts';
import { check } from './check.ts';
import { compileTyped } from './compile.ts';
import { type CompileResult, type ExprError, ExprFailure, exprError, fail } from './errors.ts';
import type { Ev } from './functions.ts';
import { parse } from './parse.ts';
import { MAX_SOURCE_LENGTH } from './scan.ts';
import { compileTemplate, isKeyExpression } from './template.ts';

export type { BreakerStats, ExprContext, MatchRequest } from './context.ts';
export type { CompileResult, ExprError, ExprErrorCode } from './errors.ts';
export { EXPR_CODES } from './errors.ts';
export { MAX_SOURCE_LENGTH } from './scan.ts';
export { compileRegexp } from './regexp.ts';
export type { RegexpResult } from './regexp.ts';

export type Matcher = (req: MatchRequest) => boolean;
export type Breaker = (stats: BreakerStats) => boolean;
export type KeyFunction = (req: MatchRequest) => string;

export interface CompiledFor {
  matcher: Matcher;
  breaker: Breaker;
  key: KeyFunction;
}

const CONTEXTS: readonly string[] = ['matcher', 'breaker', 'key'];

function build(source: string, context: ExprContext): Ev<unknown> {
  if (typeof source !== 'string') fail('EXPR_SYNTAX', `expected the expression as a string, found ${source === null ? 'null' : typeof source}`, 0);
  if (!CONTEXTS.includes(context)) fail('EXPR_WRONG_CONTEXT', `unknown expression context ${String(context)}; expected matcher, breaker or key`, 0);
  if (source.length > MAX_SOURCE_LENGTH) {
    fail('EXPR_TOO_LONG', `the expression is ${source.length} characters long; the limit is ${MAX_SOURCE_LENGTH}`, MAX_SOURCE_LENGTH);
  }
  if (source.trim() === '') {
    fail('EXPR_EMPTY', context === 'key'
      ? 'the key is empty; write a template such as {remote.ip}'
      : 'the expression is empty; write true or false to match every request or none', 0);
  }
  if (context === 'key' && !isKeyExpression(source)) return compileTemplate(source);
  return compileTyped(check(parse(source), context));
}

function failure(e: unknown, source: unknown): ExprError {
  const src = typeof source === 'string' ? source : '';
  if (e instanceof ExprFailure) return exprError(e.code, e.message, e.index, src);
  // Bounded nesting makes this unreachable in practice; it is still never a crash.
  if (e instanceof RangeError) return exprError('EXPR_TOO_DEEP', 'the expression is nested too deeply', 0, src);
  return exprError('EXPR_INTERNAL', `internal error while compiling: ${e instanceof Error ? e.message : String(e)}`, 0, src);
}

/** Compiles `source` for `context`; never throws. */
export function compile<C extends ExprContext>(source: string, context: C): CompileResult<CompiledFor[C]> {
  try {
    return { ok: true, fn: build(source, context) as unknown as CompiledFor[C] };
  } catch (e) {
    return { ok: false, error: failure(e, source) };
  }
}

export function compileMatcher(source: string): CompileResult<Matcher> {
  return compile(source, 'matcher');
}

export function compileBreaker(source: string): CompileResult<Breaker> {
  return compile(source, 'breaker');
}

export function compileKey(source: string): CompileResult<KeyFunction> {
  return compile(source, 'key');
}

/** The error a source has in `context`, or undefined when it compiles (for translation). */
export function checkExpression(source: string, context: ExprContext): ExprError | undefined {
  const r = compile(source, context);
  return r.ok ? undefined : r.error;
}

/**
 * The functions an expression calls (e.g. `LatencyAtQuantileMS`), read from its tree; empty
 * when it does not parse. Lets a caller prepare only what the expression will read.
 */
export function callsIn(source: string): ReadonlySet<string> {
  const names = new Set<string>();
  let root: Node;
  try {
    root = parse(source);
  } catch {
    return names;
  }
  const visit = (n: Node): void => {
    switch (n.kind) {
      case 'call': names.add(n.name); n.args.forEach(visit); break;
      case 'list': n.items.forEach(visit); break;
      case 'object': for (const e of n.entries) visit(e.value); break;
      case 'not': case 'negate': visit(n.arg); break;
      case 'logical': case 'concat': n.args.forEach(visit); break;
      case 'compare': visit(n.left); visit(n.right); break;
      case 'conditional': visit(n.test); visit(n.then); visit(n.else); break;
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
export function formatExprError(e: ExprError): string {
  const head = `${e.code} at column ${e.column}: ${e.message}`;
  if (e.source === '') return head;
  const index = e.column - 1;
  const lineStart = index === 0 ? 0 : e.source.lastIndexOf('\n', index - 1) + 1;
  let lineEnd = e.source.indexOf('\n', index);
  if (lineEnd < 0) lineEnd = e.source.length;
  // A window of the line around the column keeps long sources readable.
  const from = Math.max(lineStart, index - 60);
  const to = Math.min(lineEnd, index + 60);
  const shown = e.source.slice(from, to).replace(/[\t\r]/g, ' ');
  const prefix = from > lineStart ? '…' : '';
  const suffix = to < lineEnd ? '…' : '';
  return `${head}\n  ${prefix}${shown}${suffix}\n  ${' '.repeat(prefix.length + index - from)}^`;
}
