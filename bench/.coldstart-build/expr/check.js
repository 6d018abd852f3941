import { Args } from './args.js';
import { fail, show } from './errors.js';
import { FUNCTIONS } from './functions.js';
import { placeholderReader, resolvePlaceholder } from './placeholders.js';
import { suggest } from './suggest.js';
const WHAT = {
    matcher: 'a request matcher',
    breaker: 'a circuit-breaker expression',
    key: 'a rate-limit key',
};
const BREAKER_FUNCTIONS = 'NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedByFrom, dividedByTo) and LatencyAtQuantileMS(quantile)';
export function typeName(t) {
    if (t === 'boolean')
        return 'a condition (true/false)';
    return t === 'number' ? 'a number' : 'a string';
}
/** Checks a whole expression for `context`, including the type of its result. */
export function check(root, context) {
    const typed = new Checker(context).node(root);
    const want = context === 'key' ? 'string' : 'boolean';
    if (typed.type !== want) {
        if (want === 'string') {
            fail('EXPR_NOT_STRING', `${WHAT[context]} must give a string, but this gives ${typeName(typed.type)}; use e.g. header_value('X-User') or cond ? 'a' : 'b'`, root.pos);
        }
        const hint = context === 'breaker' ? 'compare it, e.g. NetworkErrorRatio() > 0.30' : 'compare it, e.g. random() < 0.1';
        fail('EXPR_NOT_BOOLEAN', `${WHAT[context]} must be a condition (true/false), but this is ${typeName(typed.type)}; ${typed.type === 'number' ? hint : 'compare it, e.g. header_value(\'X-Env\') == \'canary\''}`, root.pos);
    }
    return typed;
}
class Checker {
    context;
    scope;
    constructor(context) {
        this.context = context;
        this.scope = context === 'breaker' ? 'breaker' : 'request';
    }
    node(n) {
        switch (n.kind) {
            case 'literal': return { kind: 'const', type: typeof n.value, value: n.value };
            case 'list': return fail('EXPR_SYNTAX', 'a list can only be a function argument, e.g. method([\'GET\', \'HEAD\'])', n.pos);
            case 'object': return fail('EXPR_SYNTAX', 'an object can only be a function argument, e.g. header({\'User-Agent\': \'*Chrome*\'})', n.pos);
            case 'name': return this.name(n.name, n.pos);
            case 'placeholder': return this.placeholder(n.name, n.pos);
            case 'call': return this.call(n.name, n.args, n.pos);
            case 'not': {
                const arg = this.node(n.arg);
                this.expect(arg, 'boolean', n.arg.pos, '! needs a condition');
                return arg.kind === 'const' ? { kind: 'const', type: 'boolean', value: !arg.value } : { kind: 'not', type: 'boolean', arg };
            }
            case 'negate': {
                const arg = this.node(n.arg);
                this.expect(arg, 'number', n.arg.pos, '- needs a number');
                return arg.kind === 'const' ? { kind: 'const', type: 'number', value: -arg.value } : { kind: 'negate', type: 'number', arg };
            }
            case 'logical': {
                const args = n.args.map((a) => {
                    const t = this.node(a);
                    this.expect(t, 'boolean', a.pos, `${n.op} joins conditions`);
                    return t;
                });
                return { kind: n.op === '&&' ? 'and' : 'or', type: 'boolean', args };
            }
            case 'concat': {
                const args = n.args.map((a) => {
                    const t = this.node(a);
                    this.expect(t, 'string', a.pos, '+ joins strings (there is no arithmetic)');
                    return t;
                });
                return { kind: 'concat', type: 'string', args };
            }
            case 'compare': {
                const left = this.node(n.left);
                const right = this.node(n.right);
                if (n.op === '==' || n.op === '!=') {
                    if (left.type !== right.type) {
                        fail('EXPR_OPERAND_TYPE', `${n.op} compares values of the same type, found ${typeName(left.type)} and ${typeName(right.type)}`, n.opPos);
                    }
                }
                else {
                    this.expect(left, 'number', n.left.pos, `${n.op} compares numbers`);
                    this.expect(right, 'number', n.right.pos, `${n.op} compares numbers`);
                }
                return { kind: 'compare', type: 'boolean', op: n.op, left, right };
            }
            case 'conditional': {
                const test = this.node(n.test);
                this.expect(test, 'boolean', n.test.pos, 'the part before ? must be a condition');
                const then = this.node(n.then);
                const otherwise = this.node(n.else);
                if (then.type !== otherwise.type) {
                    fail('EXPR_OPERAND_TYPE', `both branches of ? : must have the same type, found ${typeName(then.type)} and ${typeName(otherwise.type)}`, n.else.pos);
                }
                return { kind: 'cond', type: then.type, test, then, else: otherwise };
            }
        }
    }
    expect(t, type, pos, what) {
        if (t.type !== type)
            fail('EXPR_OPERAND_TYPE', `${what}, found ${typeName(t.type)}`, pos);
    }
    name(name, pos) {
        const spec = FUNCTIONS.get(name);
        if (spec)
            fail('EXPR_SYNTAX', `${name} is a function: call it, e.g. ${spec.usage}`, pos);
        if (this.scope === 'request' && placeholderReader(name)) {
            fail('EXPR_SYNTAX', `${name} is not a name here; write the placeholder in braces: {${name}}`, pos);
        }
        return fail('EXPR_UNKNOWN_NAME', `unknown name ${show(name)}${this.suggestFunction(name)}; values are 'strings', numbers, true, false and function calls`, pos);
    }
    placeholder(name, pos) {
        if (this.scope === 'breaker') {
            fail('EXPR_WRONG_CONTEXT', `the placeholder {${name}} reads the request; ${WHAT.breaker} can only use ${BREAKER_FUNCTIONS}`, pos);
        }
        return { kind: 'eval', type: 'string', fn: resolvePlaceholder(name, pos) };
    }
    call(name, argNodes, pos) {
        const spec = FUNCTIONS.get(name);
        if (!spec) {
            return fail('EXPR_UNKNOWN_NAME', `unknown function ${name}()${this.suggestFunction(name)}`, pos);
        }
        if (spec.scope !== this.scope) {
            if (spec.scope === 'breaker') {
                fail('EXPR_WRONG_CONTEXT', `${name}() is a circuit-breaker function; it cannot be used in ${WHAT[this.context]}`, pos);
            }
            fail('EXPR_WRONG_CONTEXT', `${name}() reads the request; ${WHAT.breaker} can only use ${BREAKER_FUNCTIONS}`, pos);
        }
        if (argNodes.length < spec.min || argNodes.length > spec.max) {
            fail('EXPR_ARITY', `${name}() takes ${arity(spec)}, found ${argNodes.length}: ${spec.usage}`, pos);
        }
        return { kind: 'eval', type: spec.returns, fn: spec.build(new Args(name, argNodes, pos)) };
    }
    suggestFunction(name) {
        const names = [...FUNCTIONS.values()].filter((s) => s.scope === this.scope).map((s) => s.name);
        const near = suggest(name, names);
        return near ? `; did you mean ${near}()?` : '';
    }
}
function arity(spec) {
    const n = (k) => (k === 0 ? 'no arguments' : k === 1 ? '1 argument' : `${k} arguments`);
    if (spec.min === spec.max)
        return n(spec.min);
    if (spec.max === Infinity)
        return `at least ${n(spec.min)}`;
    return spec.max === spec.min + 1 ? `${spec.min} or ${n(spec.max)}` : `${spec.min} to ${n(spec.max)}`;
}
