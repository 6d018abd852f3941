/**
 * Source text -> Node tree. jsep (with @jsep-plugin/object) does the parsing; this file adds
 * what jsep lacks for us: start positions for every node (recorded by wrapping gobbleToken on
 * the parser instance, so jsep's global configuration is left as it is apart from the object
 * plugin), friendlier syntax messages, and the narrowing of JavaScript syntax to our language.
 */
import jsep from 'jsep';
import jsepObject from '@jsep-plugin/object';
import { fail, show } from './errors.js';
import { scan } from './scan.js';
jsep.plugins.register(jsepObject);
/** Tree depth after `&&`/`||`/`+` chains are flattened. */
export const MAX_DEPTH = 48;
const Jsep = jsep.Jsep;
const gobbleToken = Jsep.prototype.gobbleToken;
const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const OPERATOR_ADVICE = {
    '===': 'use ==',
    '!==': 'use !=',
    '&': 'use && for "and"',
    '|': 'use || for "or"',
    '-': 'arithmetic is not supported',
    '*': 'arithmetic is not supported',
    '/': 'arithmetic is not supported',
    '%': 'arithmetic is not supported',
    '**': 'arithmetic is not supported',
};
export function parse(source) {
    const { text, placeholders } = scan(source);
    const positions = new Map();
    const parser = new Jsep(text);
    parser.gobbleToken = function gobbleTokenWithPosition() {
        this.gobbleSpaces();
        const start = this.index;
        const node = gobbleToken.call(this);
        if (node && !positions.has(node))
            positions.set(node, start);
        return node;
    };
    let root;
    try {
        root = parser.parse();
    }
    catch (e) {
        const je = e;
        if (typeof je.index === 'number' && typeof je.description === 'string') {
            fail('EXPR_SYNTAX', syntaxMessage(je.description), je.index);
        }
        throw e;
    }
    return new Converter(text, positions, placeholders).convert(root, 0, 0);
}
class Converter {
    text;
    positions;
    placeholders;
    constructor(text, positions, placeholders) {
        this.text = text;
        this.positions = positions;
        this.placeholders = placeholders;
    }
    /** Start of a node: recorded, else its leftmost part's, else the enclosing node's. */
    posOf(n, fallback) {
        const recorded = this.positions.get(n);
        if (recorded !== undefined)
            return recorded;
        switch (n.type) {
            case 'BinaryExpression': return this.posOf(n.left, fallback);
            case 'ConditionalExpression': return this.posOf(n.test, fallback);
            case 'CallExpression': return this.posOf(n.callee, fallback);
            case 'MemberExpression': return this.posOf(n.object, fallback);
            default: return fallback;
        }
    }
    convert(n, depth, parentPos) {
        const pos = this.posOf(n, parentPos);
        if (depth > MAX_DEPTH)
            fail('EXPR_TOO_DEEP', `the expression nests more than ${MAX_DEPTH} levels deep`, pos);
        const d = depth + 1;
        switch (n.type) {
            case 'Literal': {
                const value = typeof n.value === 'string' ? unquote(n.raw) : n.value;
                if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
                    return { kind: 'literal', pos, value };
                return fail('EXPR_SYNTAX', `${String(n.raw)} is not supported; values are strings, numbers, true and false`, pos);
            }
            case 'Identifier': {
                const name = n.name;
                if (name === '$') {
                    const placeholder = this.placeholders.get(pos);
                    if (placeholder !== undefined)
                        return { kind: 'placeholder', pos, name: placeholder };
                }
                return { kind: 'name', pos, name };
            }
            case 'ArrayExpression': {
                const elements = n.elements;
                const items = [];
                for (const e of elements) {
                    if (e === null)
                        fail('EXPR_SYNTAX', 'empty element in a list: remove the extra comma', pos);
                    items.push(this.convert(e, d, pos));
                }
                return { kind: 'list', pos, items };
            }
            case 'ObjectExpression': return this.object(n, d, pos);
            case 'CallExpression': {
                const callee = n.callee;
                const args = n.arguments.map((a) => this.convert(a, d, pos));
                if (callee.type === 'Identifier' && callee.name !== '$') {
                    return { kind: 'call', pos, name: callee.name, args };
                }
                if (callee.type === 'MemberExpression') {
                    const property = callee.property;
                    const method = property.type === 'Identifier' ? `.${String(property.name)}()` : 'a method';
                    return fail('EXPR_SYNTAX', `method calls such as ${method} are not supported; use the matcher functions, e.g. path('/api/*') or header({'Name': 'value*'})`, pos);
                }
                return fail('EXPR_SYNTAX', 'only named functions can be called, e.g. header(\'X-User\')', pos);
            }
            case 'MemberExpression':
                return fail('EXPR_SYNTAX', 'property access (a.b or a[b]) is not supported; placeholders are written in braces, e.g. {header.X-User}', pos);
            case 'UnaryExpression': {
                const op = n.operator;
                const arg = this.convert(n.argument, d, pos);
                if (op === '!')
                    return { kind: 'not', pos, arg };
                if (op === '-')
                    return { kind: 'negate', pos, arg };
                return fail('EXPR_SYNTAX', `the prefix operator '${op}' is not supported; use ! for "not"`, pos);
            }
            case 'BinaryExpression': return this.binary(n, d, pos);
            case 'ConditionalExpression': {
                return {
                    kind: 'conditional',
                    pos,
                    test: this.convert(n.test, d, pos),
                    then: this.convert(n.consequent, d, pos),
                    else: this.convert(n.alternate, d, pos),
                };
            }
            case 'Compound': {
                const second = n.body[1];
                const at = second ? this.posOf(second, pos) : pos;
                return fail('EXPR_SYNTAX', `expected an operator such as &&, || or == before ${show(this.token(at), 20)}`, at);
            }
            case 'SequenceExpression':
                return fail('EXPR_SYNTAX', `unexpected ',' inside parentheses; combine conditions with && or ||`, pos);
            case 'ThisExpression':
                return fail('EXPR_SYNTAX', '\'this\' is not supported', pos);
            default:
                return fail('EXPR_SYNTAX', `unsupported syntax (${n.type})`, pos);
        }
    }
    object(n, d, pos) {
        const entries = [];
        for (const p of n.properties) {
            const at = this.posOf(p, pos);
            if (p.type !== 'Property' || p.computed === true || p.shorthand === true || !p.value) {
                fail('EXPR_SYNTAX', 'object entries are written \'key\': value', at);
            }
            const k = p.key;
            const keyPos = this.posOf(k, at);
            let key;
            if (k.type === 'Literal' && typeof k.value === 'string')
                key = unquote(k.raw);
            else if (k.type === 'Identifier' && k.name !== '$')
                key = k.name;
            else
                return fail('EXPR_SYNTAX', 'object keys must be strings, e.g. {\'User-Agent\': \'*Chrome*\'}', keyPos);
            entries.push({ key, keyPos, value: this.convert(p.value, d, keyPos) });
        }
        return { kind: 'object', pos, entries };
    }
    binary(n, d, pos) {
        const op = n.operator;
        const right = n.right;
        const opPos = this.operatorPos(op, this.posOf(right, pos), pos);
        if (op === '&&' || op === '||')
            return { kind: 'logical', pos, op, args: this.chain(n, op, d, pos) };
        if (op === '+')
            return { kind: 'concat', pos, args: this.chain(n, op, d, pos) };
        if (COMPARE_OPS.has(op)) {
            return {
                kind: 'compare',
                pos,
                opPos,
                op: op,
                left: this.convert(n.left, d, pos),
                right: this.convert(right, d, pos),
            };
        }
        const advice = OPERATOR_ADVICE[op] ?? 'operators are && || ! == != < <= > >= + and ? :';
        return fail('EXPR_SYNTAX', `the operator '${op}' is not supported: ${advice}`, opPos);
    }
    /** Operands of a left-leaning chain `a op b op c`, converted, in order. */
    chain(n, op, d, pos) {
        // A parenthesised sub-chain has a recorded position and stays a node of its own.
        const rights = [n.right];
        let cur = n.left;
        while (cur.type === 'BinaryExpression' && cur.operator === op && !this.positions.has(cur)) {
            rights.push(cur.right);
            cur = cur.left;
        }
        const out = [this.convert(cur, d, pos)];
        for (let i = rights.length - 1; i >= 0; i--)
            out.push(this.convert(rights[i], d, pos));
        return out;
    }
    /** Where the operator sits: the last occurrence before its right operand. */
    operatorPos(op, rightPos, fallback) {
        const at = this.text.lastIndexOf(op, rightPos - 1);
        return at >= fallback ? at : fallback;
    }
    token(at) {
        const m = /^(?:[\p{L}\p{N}_$]+|\S)/u.exec(this.text.slice(at));
        const word = m ? m[0] : '';
        // A placeholder was replaced by `$`: show the original braces' text instead.
        const placeholder = this.placeholders.get(at);
        return placeholder !== undefined ? `{${placeholder}}` : word;
    }
}
/**
 * A string literal's value from its source text. Only `\\`, `\'` and `\"` are escapes; any other
 * backslash stays, so regular expressions read as written: '\.js$' is the regexp \.js$ (jsep
 * would have made it .js$, and '\b' a backspace).
 */
function unquote(raw) {
    const body = raw.slice(1, -1);
    return body.includes('\\') ? body.replace(/\\(["'\\])/g, '$1') : body;
}
function syntaxMessage(description) {
    let m;
    if ((m = /^Expected expression after (.+)$/.exec(description)))
        return `expected a value after '${m[1]}'`;
    if ((m = /^Unexpected "(.*)"$/.exec(description)))
        return `unexpected '${m[1]}'`;
    if ((m = /^Unexpected token (.+)$/.exec(description)))
        return `unexpected '${m[1]}': expected a value`;
    if ((m = /^Variable names cannot start with a number \((.*)\)$/.exec(description)))
        return `malformed number ${show(m[1] ?? '')}: a number cannot run into a name`;
    if ((m = /^Expected exponent \((.*)\)$/.exec(description)))
        return `malformed number ${show(m[1] ?? '')}: expected digits after the exponent`;
    if (description === 'Unexpected period')
        return 'unexpected \'.\'';
    if (description === 'Expected comma')
        return 'expected \',\' between arguments';
    if (description === 'Expected :')
        return 'expected \':\' to complete the conditional (test ? a : b)';
    if (description === 'Expected expression' || description === 'missing unaryOp argument')
        return 'expected a value';
    if (description === 'unexpected object property')
        return 'expected a value after \':\' in the object';
    if (description === 'missing }')
        return 'unclosed \'{\': expected \'}\'';
    return description.charAt(0).toLowerCase() + description.slice(1);
}
