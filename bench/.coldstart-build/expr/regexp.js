/**
 * Caddy's regular expressions are RE2 (linear time); ours run on JavaScript's backtracking
 * engine. This translates the RE2 spellings users bring (`(?P<name>`, leading `(?i)`, `\z`) and
 * refuses what RE2 never had (lookaround, backreferences) or what makes backtracking
 * exponential (a repeated group that itself holds an unbounded repetition, like `(a+)+`).
 */
export function compileRegexp(pattern) {
    let source = pattern;
    let flags = '';
    let offset = 0;
    const leading = /^\(\?([imsU]+)\)/.exec(source);
    if (leading) {
        const f = leading[1];
        if (f.includes('U'))
            return { ok: false, message: 'the RE2 flag U (ungreedy) is not supported', offset: 0 };
        flags = [...new Set(f)].join('');
        source = source.slice(leading[0].length);
        offset = leading[0].length;
    }
    const problem = unsafeConstruct(source);
    if (problem)
        return { ok: false, message: problem.message, offset: problem.offset + offset };
    source = source.replaceAll('(?P<', '(?<').replace(/\\z/g, '$').replace(/\\A/g, '^');
    try {
        return { ok: true, re: new RegExp(source, flags) };
    }
    catch (e) {
        // V8 says `Invalid regular expression: /<source>/<flags>: <reason>`; the reason is enough.
        const text = e instanceof Error ? e.message.slice(e.message.lastIndexOf(': ') + 2) : String(e);
        return { ok: false, message: text, offset: 0 };
    }
}
/** The first construct we refuse, with its offset in `re`, or undefined. */
function unsafeConstruct(re) {
    const stack = [{ start: 0, unbounded: false }];
    let i = 0;
    while (i < re.length) {
        const c = re[i];
        if (c === '\\') {
            const next = re[i + 1] ?? '';
            if (/[1-9]/.test(next) || next === 'k') {
                return { message: 'backreferences are not supported (RE2 syntax has none)', offset: i };
            }
            i = quantified(re, i + 2, stack);
        }
        else if (c === '[') {
            i = quantified(re, classEnd(re, i), stack);
        }
        else if (c === '(') {
            if (/^\(\?<?[=!]/.test(re.slice(i, i + 4))) {
                return { message: 'lookahead and lookbehind are not supported (RE2 syntax has none)', offset: i };
            }
            stack.push({ start: i, unbounded: false });
            i++;
        }
        else if (c === ')') {
            const group = stack.length > 1 ? stack.pop() : { start: i, unbounded: false };
            const after = quantifierAt(re, i + 1);
            if (after.unbounded && group.unbounded) {
                return { message: 'a repeated group holds an unbounded repetition, e.g. (a+)+, which can take exponential time; simplify it', offset: group.start };
            }
            stack[stack.length - 1].unbounded ||= group.unbounded || after.unbounded;
            i = after.end;
        }
        else {
            i = quantified(re, i + 1, stack);
        }
    }
    return undefined;
}
/** After an atom ending at `at`: skip its quantifier and note whether it repeats without bound. */
function quantified(re, at, stack) {
    const q = quantifierAt(re, at);
    if (q.unbounded)
        stack[stack.length - 1].unbounded = true;
    return q.end;
}
function quantifierAt(re, at) {
    const c = re[at];
    let end = at;
    let unbounded = false;
    if (c === '*' || c === '+') {
        end = at + 1;
        unbounded = true;
    }
    else if (c === '?') {
        end = at + 1;
    }
    else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(at));
        if (m) {
            end = at + m[0].length;
            unbounded = m[2] !== undefined && m[3] === '';
        }
    }
    // Lazy or possessive suffix.
    if (end > at && (re[end] === '?' || re[end] === '+'))
        end++;
    return { end, unbounded };
}
/** Index just past the `]` closing the class that starts at `start`. */
function classEnd(re, start) {
    let i = start + 1;
    if (re[i] === '^')
        i++;
    if (re[i] === ']')
        i++;
    while (i < re.length && re[i] !== ']')
        i += re[i] === '\\' ? 2 : 1;
    return i + 1;
}
