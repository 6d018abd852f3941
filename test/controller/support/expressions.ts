/**
 * A stand-in for the expression compiler (written in parallel, wired in by the lead): it
 * refuses unbalanced brackets and unterminated strings, enough for tests to see how translation
 * reports an expression error with its column.
 */
import type { ExpressionChecker } from '../../../src/controller/translation/types.ts';

const CLOSING: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

export const checkBrackets: ExpressionChecker = (source) => {
  const open: { ch: string; at: number }[] = [];
  let quote: { ch: string; at: number } | undefined;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote.ch) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = { ch, at: i };
    else if (ch === '(' || ch === '[' || ch === '{') open.push({ ch, at: i });
    else if (CLOSING[ch]) {
      if (open.pop()?.ch !== CLOSING[ch]) return { code: 'expr-syntax', message: `unexpected "${ch}"`, column: i + 1 };
    }
  }
  if (quote) return { code: 'expr-syntax', message: 'unterminated string', column: quote.at + 1 };
  const last = open.pop();
  if (last) return { code: 'expr-syntax', message: `"${last.ch}" is never closed`, column: last.at + 1 };
  return undefined;
};
