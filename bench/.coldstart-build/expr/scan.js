/**
 * A lexical pass before jsep. It gives the common syntax errors (unclosed quotes and brackets)
 * precise columns, bounds nesting so that jsep's recursive descent cannot exhaust the stack,
 * and swaps each `{placeholder}` for a same-length identifier (`$` and spaces) so columns
 * stay true; the parser maps those identifiers back by position.
 */
import { fail, show } from './errors.js';
export const MAX_SOURCE_LENGTH = 4096;
/** Brackets `( [ {` open at once, and `? :` conditionals in one expression. */
export const MAX_NESTING = 32;
/** Prefix operators in a row (`!!x`, `- -1`). */
export const MAX_PREFIX_RUN = 8;
const CLOSER = { '(': ')', '[': ']', '{': '}' };
const OPENER = { ')': '(', ']': '[', '}': '{' };
/** Characters a placeholder body may not hold; anything else after `{` up to `}` is one. */
const NOT_IN_PLACEHOLDER = /[\s'"`:,{}()[\]]/;
/** The end (index of `}`) of a placeholder starting at `start`, or -1 when `{` opens an object. */
export function placeholderEnd(src, start) {
    const close = src.indexOf('}', start + 1);
    if (close <= start + 1)
        return -1;
    for (let i = start + 1; i < close; i++)
        if (NOT_IN_PLACEHOLDER.test(src[i]))
            return -1;
    return close;
}
export function scan(src) {
    const placeholders = new Map();
    const stack = [];
    let out = '';
    let copied = 0;
    let conditionals = 0;
    let prefixRun = 0;
    for (let i = 0; i < src.length; i++) {
        const c = src[i];
        if (c === '\'' || c === '"') {
            i = skipString(src, i);
            prefixRun = 0;
            continue;
        }
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r')
            continue;
        if (c === '!' || c === '-' || c === '+' || c === '~') {
            // `!=` is a comparison, not a prefix operator.
            if (!(c === '!' && src[i + 1] === '=') && ++prefixRun > MAX_PREFIX_RUN) {
                fail('EXPR_TOO_DEEP', `more than ${MAX_PREFIX_RUN} prefix operators in a row`, i);
            }
            continue;
        }
        prefixRun = 0;
        if (c === '{') {
            const end = placeholderEnd(src, i);
            if (end > 0) {
                placeholders.set(i, src.slice(i + 1, end));
                out += src.slice(copied, i) + '$' + ' '.repeat(end - i);
                copied = end + 1;
                i = end;
                continue;
            }
        }
        if (c === '(' || c === '[' || c === '{') {
            stack.push(i);
            if (stack.length > MAX_NESTING)
                fail('EXPR_TOO_DEEP', `brackets nest more than ${MAX_NESTING} deep`, i);
        }
        else if (c === ')' || c === ']' || c === '}') {
            const open = stack.pop();
            if (open === undefined)
                fail('EXPR_SYNTAX', `unexpected '${c}': no '${OPENER[c]}' is open`, i);
            const opener = src[open];
            if (CLOSER[opener] !== c) {
                fail('EXPR_SYNTAX', `expected '${CLOSER[opener]}' to close the '${opener}' at column ${open + 1}, found '${c}'`, i);
            }
        }
        else if (c === '?') {
            if (++conditionals > MAX_NESTING)
                fail('EXPR_TOO_DEEP', `more than ${MAX_NESTING} conditionals (? :)`, i);
        }
        else if (c === ';') {
            fail('EXPR_SYNTAX', `unexpected ';': an expression is a single condition or value`, i);
        }
        else if (c === ',' && stack.length === 0) {
            fail('EXPR_SYNTAX', `unexpected ',' outside a function call, list or object; combine conditions with && or ||`, i);
        }
        else if (c === '$') {
            fail('EXPR_SYNTAX', `unexpected '$'`, i);
        }
    }
    if (stack.length > 0) {
        const open = stack[stack.length - 1];
        const opener = src[open];
        fail('EXPR_SYNTAX', `unclosed '${opener}': expected '${CLOSER[opener]}' before the end`, open);
    }
    return { text: copied === 0 ? src : out + src.slice(copied), placeholders };
}
/** Index of the closing quote of the string starting at `start`. */
function skipString(src, start) {
    const quote = src[start];
    for (let i = start + 1; i < src.length; i++) {
        const c = src[i];
        if (c === '\\')
            i++;
        else if (c === quote)
            return i;
    }
    const rest = src.slice(start + 1);
    return fail('EXPR_SYNTAX', `unclosed string: ${show(rest, 20)} has no closing ${quote}`, start);
}
