import { fail, show } from './errors.js';
const ORDINAL = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];
export function ordinal(i) {
    return ORDINAL[i] ?? `${i + 1}th`;
}
/** What a node is, for "found ..." in messages. */
export function describe(n) {
    switch (n.kind) {
        case 'literal':
            if (typeof n.value === 'string')
                return `the string ${show(n.value)}`;
            if (typeof n.value === 'number')
                return `the number ${n.value}`;
            return String(n.value);
        case 'list': return 'a list';
        case 'object': return 'an object';
        case 'call': return `a call of ${n.name}()`;
        case 'placeholder': return `the placeholder {${n.name}}`;
        case 'name': return `the name ${n.name}`;
        case 'negate': return n.arg.kind === 'literal' && typeof n.arg.value === 'number' ? `the number -${n.arg.value}` : 'an expression';
        default: return 'an expression';
    }
}
export class Args {
    fn;
    nodes;
    callPos;
    constructor(fn, nodes, callPos) {
        this.fn = fn;
        this.nodes = nodes;
        this.callPos = callPos;
    }
    get count() {
        return this.nodes.length;
    }
    node(i) {
        return this.nodes[i];
    }
    /** Reports an argument of the wrong type: `expected` is e.g. "a quoted string". */
    wrongType(i, what, expected) {
        const n = this.node(i);
        const literalOnly = n.kind === 'call' || n.kind === 'placeholder' || n.kind === 'name' ? ' (arguments are literal values)' : '';
        return fail('EXPR_ARG_TYPE', `${this.fn}(): the ${ordinal(i)} argument (${what}) must be ${expected}, found ${describe(n)}${literalOnly}`, n.pos);
    }
    /** Reports a bad value of the right type. */
    bad(i, message, pos = this.node(i).pos) {
        return fail('EXPR_ARG_VALUE', `${this.fn}(): ${message}`, pos);
    }
    string(i, what) {
        const n = this.node(i);
        if (n.kind === 'literal' && typeof n.value === 'string')
            return { value: n.value, pos: n.pos };
        return this.wrongType(i, what, 'a quoted string');
    }
    number(i, what) {
        const n = this.node(i);
        if (n.kind === 'literal' && typeof n.value === 'number')
            return { value: n.value, pos: n.pos };
        if (n.kind === 'negate' && n.arg.kind === 'literal' && typeof n.arg.value === 'number')
            return { value: -n.arg.value, pos: n.pos };
        return this.wrongType(i, what, 'a number');
    }
    /** Arguments from `from` on: strings or lists of strings, flattened. */
    strings(from, what) {
        const out = [];
        for (let i = from; i < this.count; i++) {
            const n = this.node(i);
            if (n.kind === 'list') {
                for (const item of n.items) {
                    if (item.kind !== 'literal' || typeof item.value !== 'string') {
                        fail('EXPR_ARG_TYPE', `${this.fn}(): the list in the ${ordinal(i)} argument must hold quoted strings (each ${what}), found ${describe(item)}`, item.pos);
                    }
                    out.push({ value: item.value, pos: item.pos });
                }
            }
            else {
                out.push(this.string(i, what));
            }
        }
        return out;
    }
    /** An object whose values are strings or lists of strings (`{'Name': 'v'}`, `{'k': ['a', 'b']}`). */
    stringMap(i, what, valueWhat) {
        const n = this.node(i);
        if (n.kind !== 'object')
            return this.wrongType(i, what, 'an object such as {\'name\': \'value\'}');
        return n.entries.map((e) => {
            const v = e.value;
            if (v.kind === 'literal' && typeof v.value === 'string')
                return { key: e.key, keyPos: e.keyPos, values: [v.value], pos: v.pos };
            if (v.kind === 'list') {
                const values = v.items.map((item) => {
                    if (item.kind !== 'literal' || typeof item.value !== 'string') {
                        return fail('EXPR_ARG_TYPE', `${this.fn}(): the values for ${show(e.key)} must be quoted strings (each ${valueWhat}), found ${describe(item)}`, item.pos);
                    }
                    return item.value;
                });
                return { key: e.key, keyPos: e.keyPos, values, pos: v.pos };
            }
            return fail('EXPR_ARG_TYPE', `${this.fn}(): the value for ${show(e.key)} must be a quoted string (${valueWhat}) or a list of them, found ${describe(v)}`, v.pos);
        });
    }
}
