/**
 * Typed tree -> closures. Every node becomes one small function built here, once; evaluation
 * never looks at the tree. Common shapes get dedicated closures (two-operand && and ||, a
 * comparison with a constant) so the hot path is a couple of direct calls.
 */
import type { Typed } from './check.ts';
import type { Ev } from './functions.ts';

type Value = string | number | boolean;

export function compileTyped(t: Typed): Ev<Value> {
  switch (t.kind) {
    case 'const': {
      const v = t.value;
      return () => v;
    }
    case 'eval': return t.fn as Ev<Value>;
    case 'not': {
      const a = compileTyped(t.arg);
      return (i) => !a(i);
    }
    case 'negate': {
      const a = compileTyped(t.arg) as Ev<number>;
      return (i) => -a(i);
    }
    case 'and': return conjunction(t.args.map(compileTyped) as Ev<boolean>[]);
    case 'or': return disjunction(t.args.map(compileTyped) as Ev<boolean>[]);
    case 'compare': return comparison(t);
    case 'concat': return concatenation(t.args);
    case 'cond': {
      const test = compileTyped(t.test) as Ev<boolean>;
      const then = compileTyped(t.then);
      const otherwise = compileTyped(t.else);
      return (i) => (test(i) ? then(i) : otherwise(i));
    }
  }
}

function conjunction(fs: Ev<boolean>[]): Ev<boolean> {
  if (fs.length === 2) {
    const [a, b] = fs as [Ev<boolean>, Ev<boolean>];
    return (i) => a(i) && b(i);
  }
  if (fs.length === 3) {
    const [a, b, c] = fs as [Ev<boolean>, Ev<boolean>, Ev<boolean>];
    return (i) => a(i) && b(i) && c(i);
  }
  return (i) => {
    for (const f of fs) if (!f(i)) return false;
    return true;
  };
}

function disjunction(fs: Ev<boolean>[]): Ev<boolean> {
  if (fs.length === 2) {
    const [a, b] = fs as [Ev<boolean>, Ev<boolean>];
    return (i) => a(i) || b(i);
  }
  if (fs.length === 3) {
    const [a, b, c] = fs as [Ev<boolean>, Ev<boolean>, Ev<boolean>];
    return (i) => a(i) || b(i) || c(i);
  }
  return (i) => {
    for (const f of fs) if (f(i)) return true;
    return false;
  };
}

type Op = (a: Value, b: Value) => boolean;
const OPS: Record<string, Op> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function comparison(t: Extract<Typed, { kind: 'compare' }>): Ev<boolean> {
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
  const op = OPS[t.op]!;
  return (i) => op(left(i), right(i));
}

function concatenation(args: Typed[]): Ev<string> {
  // Adjacent constants are joined now.
  const parts: (string | Ev<string>)[] = [];
  for (const a of args) {
    const last = parts[parts.length - 1];
    if (a.kind === 'const' && typeof last === 'string') parts[parts.length - 1] = last + String(a.value);
    else parts.push(a.kind === 'const' ? String(a.value) : (compileTyped(a) as Ev<string>));
  }
  return joinParts(parts);
}

/** Literal text and string pieces, concatenated; shared with key templates. */
export function joinParts(parts: (string | Ev<string>)[]): Ev<string> {
  if (parts.length === 0) return () => '';
  if (parts.length === 1) {
    const only = parts[0]!;
    return typeof only === 'string' ? () => only : only;
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string | Ev<string>, string | Ev<string>];
    if (typeof a === 'string' && typeof b !== 'string') return (i) => a + b(i);
    if (typeof a !== 'string' && typeof b === 'string') return (i) => a(i) + b;
    if (typeof a !== 'string' && typeof b !== 'string') return (i) => a(i) + b(i);
  }
  const fs = parts.map((p) => (typeof p === 'string' ? () => p : p));
  return (i) => {
    let s = '';
    for (const f of fs) s += f(i);
    return s;
  };
}
