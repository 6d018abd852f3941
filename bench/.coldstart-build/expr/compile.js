export function compileTyped(t) {
    switch (t.kind) {
        case 'const': {
            const v = t.value;
            return () => v;
        }
        case 'eval': return t.fn;
        case 'not': {
            const a = compileTyped(t.arg);
            return (i) => !a(i);
        }
        case 'negate': {
            const a = compileTyped(t.arg);
            return (i) => -a(i);
        }
        case 'and': return conjunction(t.args.map(compileTyped));
        case 'or': return disjunction(t.args.map(compileTyped));
        case 'compare': return comparison(t);
        case 'concat': return concatenation(t.args);
        case 'cond': {
            const test = compileTyped(t.test);
            const then = compileTyped(t.then);
            const otherwise = compileTyped(t.else);
            return (i) => (test(i) ? then(i) : otherwise(i));
        }
    }
}
function conjunction(fs) {
    if (fs.length === 2) {
        const [a, b] = fs;
        return (i) => a(i) && b(i);
    }
    if (fs.length === 3) {
        const [a, b, c] = fs;
        return (i) => a(i) && b(i) && c(i);
    }
    return (i) => {
        for (const f of fs)
            if (!f(i))
                return false;
        return true;
    };
}
function disjunction(fs) {
    if (fs.length === 2) {
        const [a, b] = fs;
        return (i) => a(i) || b(i);
    }
    if (fs.length === 3) {
        const [a, b, c] = fs;
        return (i) => a(i) || b(i) || c(i);
    }
    return (i) => {
        for (const f of fs)
            if (f(i))
                return true;
        return false;
    };
}
const OPS = {
    '==': (a, b) => a === b,
    '!=': (a, b) => a !== b,
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
};
function comparison(t) {
    const left = compileTyped(t.left);
    // A constant on the right (the usual `NetworkErrorRatio() > 0.30`) is inlined per operator.
    if (t.right.kind === 'const') {
        const k = t.right.value;
        switch (t.op) {
            case '==': return (i) => left(i) === k;
            case '!=': return (i) => left(i) !== k;
            case '<': return (i) => left(i) < k;
            case '<=': return (i) => left(i) <= k;
            case '>': return (i) => left(i) > k;
            case '>=': return (i) => left(i) >= k;
        }
    }
    const right = compileTyped(t.right);
    const op = OPS[t.op];
    return (i) => op(left(i), right(i));
}
function concatenation(args) {
    // Adjacent constants are joined now.
    const parts = [];
    for (const a of args) {
        const last = parts[parts.length - 1];
        if (a.kind === 'const' && typeof last === 'string')
            parts[parts.length - 1] = last + String(a.value);
        else
            parts.push(a.kind === 'const' ? String(a.value) : compileTyped(a));
    }
    return joinParts(parts);
}
/** Literal text and string pieces, concatenated; shared with key templates. */
export function joinParts(parts) {
    if (parts.length === 0)
        return () => '';
    if (parts.length === 1) {
        const only = parts[0];
        return typeof only === 'string' ? () => only : only;
    }
    if (parts.length === 2) {
        const [a, b] = parts;
        if (typeof a === 'string' && typeof b !== 'string')
            return (i) => a + b(i);
        if (typeof a !== 'string' && typeof b === 'string')
            return (i) => a(i) + b;
        if (typeof a !== 'string' && typeof b !== 'string')
            return (i) => a(i) + b(i);
    }
    const fs = parts.map((p) => (typeof p === 'string' ? () => p : p));
    return (i) => {
        let s = '';
        for (const f of fs)
            s += f(i);
        return s;
    };
}
