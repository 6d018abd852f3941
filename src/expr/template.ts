/**
 * Rate-limit key templates: literal text with placeholders, `user:{header.X-User}`.
 *
 * A key is an expression when it has a parenthesis or a quote outside its `{...}` parts
 * (every useful key expression calls a function or holds a string literal); anything else is a
 * template. `\{`, `\}` and `\\` stand for literal characters in a template.
 */
import { fail } from './errors.ts';
import { joinParts } from './compile.ts';
import type { Ev } from './functions.ts';
import { resolvePlaceholder } from './placeholders.ts';

export function isKeyExpression(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '{') {
      const close = source.indexOf('}', i + 1);
      if (close < 0) return false;
      i = close;
    } else if (c === '\\') {
      i++;
    } else if (c === '(' || c === ')' || c === '\'' || c === '"') {
      return true;
    }
  }
  return false;
}

export type TemplatePart = { text: string } | { placeholder: string; pos: number };

/** Splits a template into literal text and placeholders, checking braces. */
export function parseTemplate(source: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\' && i + 1 < source.length && '{}\\'.includes(source[i + 1]!)) {
      text += source[++i];
    } else if (c === '{') {
      const close = source.indexOf('}', i + 1);
      const nested = source.indexOf('{', i + 1);
      if (close < 0 || (nested >= 0 && nested < close)) {
        fail('EXPR_SYNTAX', 'unclosed placeholder: \'{\' has no matching \'}\' (write \\{ for a literal brace)', i);
      }
      const name = source.slice(i + 1, close).trim();
      if (name === '') fail('EXPR_SYNTAX', 'empty placeholder {}: name a value, e.g. {remote.ip}', i);
      if (text !== '') parts.push({ text });
      text = '';
      parts.push({ placeholder: name, pos: i });
      i = close;
    } else if (c === '}') {
      fail('EXPR_SYNTAX', 'unexpected \'}\' (write \\} for a literal brace)', i);
    } else {
      text += c;
    }
  }
  if (text !== '') parts.push({ text });
  return parts;
}

export function compileTemplate(source: string): Ev<string> {
  const pieces = parseTemplate(source).map((p): string | Ev<string> => {
    if ('text' in p) return p.text;
    return resolvePlaceholder(p.placeholder, p.pos) as unknown as Ev<string>;
  });
  return joinParts(pieces);
}
