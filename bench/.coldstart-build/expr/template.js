/**
 * Rate-limit key templates: literal text with placeholders, `user:{header.X-User}`.
 *
 * A key is an expression when it has a parenthesis or a quote outside its `{...}` parts
 * (every useful key expression calls a function or holds a string literal); anything else is a
 * template. `\{`, `\}` and `\\` stand for literal characters in a template.
 */
import { fail } from './errors.js';
import { joinParts } from './compile.js';
import { resolvePlaceholder } from './placeholders.js';
export function isKeyExpression(source) {
    for (let i = 0; i < source.length; i++) {
        const c = source[i];
        if (c === '{') {
            const close = source.indexOf('}', i + 1);
            if (close < 0)
                return false;
            i = close;
        }
        else if (c === '\\') {
            i++;
        }
        else if (c === '(' || c === ')' || c === '\'' || c === '"') {
            return true;
        }
    }
    return false;
}
/** Splits a template into literal text and placeholders, checking braces. */
export function parseTemplate(source) {
    const parts = [];
    let text = '';
    for (let i = 0; i < source.length; i++) {
        const c = source[i];
        if (c === '\\' && i + 1 < source.length && '{}\\'.includes(source[i + 1])) {
            text += source[++i];
        }
        else if (c === '{') {
            const close = source.indexOf('}', i + 1);
            const nested = source.indexOf('{', i + 1);
            if (close < 0 || (nested >= 0 && nested < close)) {
                fail('EXPR_SYNTAX', 'unclosed placeholder: \'{\' has no matching \'}\' (write \\{ for a literal brace)', i);
            }
            const name = source.slice(i + 1, close).trim();
            if (name === '')
                fail('EXPR_SYNTAX', 'empty placeholder {}: name a value, e.g. {remote.ip}', i);
            if (text !== '')
                parts.push({ text });
            text = '';
            parts.push({ placeholder: name, pos: i });
            i = close;
        }
        else if (c === '}') {
            fail('EXPR_SYNTAX', 'unexpected \'}\' (write \\} for a literal brace)', i);
        }
        else {
            text += c;
        }
    }
    if (text !== '')
        parts.push({ text });
    return parts;
}
export function compileTemplate(source) {
    const pieces = parseTemplate(source).map((p) => {
        if ('text' in p)
            return p.text;
        return resolvePlaceholder(p.placeholder, p.pos);
    });
    return joinParts(pieces);
}
