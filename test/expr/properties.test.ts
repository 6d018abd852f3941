/**
 * Properties (fast-check):
 * - compilation never throws, for any string in any context, and every error column lies in
 *   the source; compiled closures never throw on odd requests;
 * - a compiled matcher agrees with a plain reference evaluator that walks jsep's AST directly
 *   (using URLSearchParams, net.BlockList and regular expressions rather than our code);
 * - the same for breaker expressions over random statistics;
 * - key templates round-trip: literal text and placeholder values come back in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import jsep from 'jsep';
import jsepObject from '@jsep-plugin/object';
import { EXPR_CODES, MAX_SOURCE_LENGTH, compile, compileBreaker, compileKey, compileMatcher, formatExprError, type BreakerStats, type ExprContext, type MatchRequest } from '../../src/expr/index.ts';
import { request, stats } from './fixtures.ts';

jsep.plugins.register(jsepObject);

const CONTEXTS: ExprContext[] = ['matcher', 'breaker', 'key'];

// ---------------------------------------------------------------- never throws, columns

const FRAGMENTS = [
  'header(', 'path(', 'method(', 'query(', 'remote_ip(', 'cookie(', 'protocol(', 'host(', 'random()', 'header_value(',
  'NetworkErrorRatio()', 'ResponseCodeRatio(', 'LatencyAtQuantileMS(', '\'X-A\'', '\'/a/*\'', '"GET"', '\'10.0.0.0/8\'',
  '{remote.ip}', '{header.X}', '{', '}', '(', ')', '[', ']', ',', ':', ';', '\'', '"', '\\', '&&', '||', '!', '==', '!=',
  '<', '>=', '?', '+', '-', '*', '.', '$', ' ', '\n', 'true', 'false', 'null', 'this', '0', '1.5', '1e', 'é', '😀', '\u00a0', '\ud800',
];

const anyString = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((a) => a.join('')),
  // Deep nesting and long chains, within and beyond the limits.
  fc.tuple(fc.constantFrom('(', '[', '{\'a\':', '!', '-', 'header(', 'true ? ', '{', '\'a\' + '), fc.integer({ min: 1, max: 5000 }))
    .map(([open, n]) => open.repeat(n) + 'true'),
  fc.integer({ min: 1, max: 1200 }).map((n) => `${'('.repeat(n)}true${')'.repeat(n)}`),
  fc.integer({ min: 1, max: 1000 }).map((n) => `true${' && true'.repeat(n)}`),
  fc.integer({ min: 1, max: 1000 }).map((n) => `${'true ? '.repeat(n)}true${' : false'.repeat(n)}`),
);

const oddRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', '', 'M-SEARCH'),
  url: fc.oneof(fc.constantFrom('', '*', '?', '#', '//', '/%', '/%zz/..', 'http://h', '/a?b=%&c'), fc.string({ maxLength: 40 })),
  host: fc.oneof(fc.constantFrom('', '[', ']:', '[::1', 'a:b:c'), fc.string({ maxLength: 20 })),
  headers: fc.dictionary(fc.constantFrom('x', 'host', 'cookie', 'content-type', 'constructor', '__proto__'), fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }))),
  remoteAddress: fc.oneof(fc.constantFrom('', '::', ':::', '1.2.3', '::ffff:1.2.3.4', 'fe80::1%', '1::2::3'), fc.string({ maxLength: 20 })),
  httpVersion: fc.constantFrom('1.0', '1.1', '2.0', '', 'x'),
  secure: fc.boolean(),
});

test('compilation never throws and error columns lie within the source', () => {
  fc.assert(fc.property(anyString, oddRequest, (source, req) => {
    for (const context of CONTEXTS) {
      const r = compile(source, context);
      if (r.ok) {
        // Whatever compiled must also evaluate without throwing.
        if (context === 'breaker') assert.equal(typeof (r.fn as (s: BreakerStats) => boolean)(stats({ network: 0.5 })), 'boolean');
        else assert.ok(['boolean', 'string'].includes(typeof (r.fn as (q: MatchRequest) => unknown)(req as MatchRequest)));
        continue;
      }
      const e = r.error;
      assert.ok((EXPR_CODES as readonly string[]).includes(e.code), e.code);
      assert.notEqual(e.code, 'EXPR_INTERNAL', formatExprError(e));
      assert.ok(Number.isInteger(e.column) && e.column >= 1 && e.column <= Math.max(1, source.length), `column ${e.column} of ${source.length}`);
      assert.ok(e.message.length > 0);
      assert.equal(e.source, source);
      if (source.length > MAX_SOURCE_LENGTH) assert.equal(e.code, 'EXPR_TOO_LONG');
    }
  }), { numRuns: 600 });
});

// ---------------------------------------------------------------- reference evaluator

type Value = boolean | number | string | Value[] | { [k: string]: Value };
interface JNode { type: string; [k: string]: unknown }

function headerValues(req: MatchRequest, name: string): string[] | undefined {
  const lower = name.toLowerCase();
  let v = Object.hasOwn(req.headers, lower) ? req.headers[lower] : undefined;
  if (v === undefined && lower === 'host' && req.host !== '') v = req.host;
  return v === undefined ? undefined : ([] as string[]).concat(v);
}

function globRe(glob: string, star = '.*', flags = 's'): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(star)}$`, flags);
}

function referencePath(url: string, merge: boolean): string {
  let p = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/)[0]!;
  p = decodeURIComponent(p);
  if (p === '') return '/';
  const out: string[] = [];
  const segs = p.split('/').slice(1);
  segs.forEach((s, i) => {
    if (s === '.') return;
    if (s === '..') out.pop();
    else if (s === '' && merge && i < segs.length - 1) return;
    else out.push(s);
  });
  return `/${out.join('/')}`;
}

function pathMatches(url: string, pattern: string): boolean {
  const p = pattern.toLowerCase();
  const path = referencePath(url, !p.includes('//')).toLowerCase();
  const stars = p.split('*').length - 1;
  if (p === '*') return true;
  if (stars === 2 && p.startsWith('*') && p.endsWith('*')) return path.includes(p.slice(1, -1));
  if (stars === 1 && p.startsWith('*')) return path.endsWith(p.slice(1));
  if (stars === 1 && p.endsWith('*')) return path.startsWith(p.slice(0, -1));
  return globRe(p, '[^/]*').test(path);
}

function query(url: string): URLSearchParams {
  const q = url.split('#')[0]!.split('?').slice(1).join('?');
  return new URLSearchParams(q);
}

function cookies(req: MatchRequest, name: string): string[] {
  const fields = ([] as string[]).concat(req.headers.cookie ?? []);
  return fields.flatMap((f) => f.split(';')).map((p) => p.trim()).filter((p) => p.startsWith(`${name}=`))
    .map((p) => p.slice(name.length + 1).replace(/^"(.*)"$/, '$1'));
}

function inRanges(address: string, ranges: string[]): boolean {
  const list = new BlockList();
  for (const r of ranges) {
    const [net, bits] = r.split('/') as [string, string | undefined];
    const type = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(net, type);
    else list.addSubnet(net, Number(bits), type);
  }
  const unmapped = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return list.check(unmapped, isIP(unmapped) === 6 ? 'ipv6' : 'ipv4');
}

function re(pattern: string): RegExp {
  return pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);
}

const REFERENCE: Record<string, (args: Value[], req: MatchRequest) => Value> = {
  header([arg], req) {
    if (typeof arg === 'string') return headerValues(req, arg) !== undefined;
    return Object.entries(arg as Record<string, Value>).every(([name, want]) => {
      const values = headerValues(req, name);
      const patterns = ([] as Value[]).concat(want) as string[];
      if (values === undefined) return false;
      return patterns.length === 0 || values.some((v) => patterns.some((p) => globRe(p).test(v)));
    });
  },
  header_regexp: (args, req) => (headerValues(req, args[args.length - 2] as string) ?? []).some((v) => re(args[args.length - 1] as string).test(v)),
  path: (args, req) => (args.flat() as string[]).some((p) => pathMatches(req.url, p)),
  path_regexp: (args, req) => re(args[args.length - 1] as string).test(referencePath(req.url, true)),
  method: (args, req) => (args.flat() as string[]).map((m) => m.toUpperCase()).includes(req.method),
  query([arg], req) {
    const params = query(req.url);
    const entries = Object.entries(arg as Record<string, Value>);
    if (entries.length === 0) return [...params.keys()].length === 0;
    return entries.every(([k, want]) => params.getAll(k).some((v) => (([] as Value[]).concat(want) as string[]).some((p) => globRe(p).test(v))));
  },
  host(args, req) {
    const h = req.host.replace(/^\[([^\]]*)\].*$/, '$1').replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase();
    return (args.flat() as string[]).some((p) => globRe(p.toLowerCase(), '[^.]*').test(h));
  },
  remote_ip: (args, req) => inRanges(req.remoteAddress, args.flat() as string[]),
  cookie: ([name, want], req) => cookies(req, name as string).some((v) => want === undefined || globRe(want as string).test(v)),
  protocol([p], req) {
    switch (p) {
      case 'http': return !req.secure;
      case 'https': return req.secure;
      case 'grpc': return String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/grpc');
      case 'http/1.0': return req.httpVersion === '1.0';
      case 'http/1.1': return req.httpVersion === '1.1';
      case 'http/2': return req.httpVersion === '2.0';
      case 'http/1.0+': return true;
      case 'http/1.1+': return req.httpVersion !== '1.0';
      default: return req.httpVersion === '2.0';
    }
  },
  header_value: ([name], req) => (headerValues(req, name as string) ?? []).join(', '),
  query_value: ([name], req) => query(req.url).get(name as string) ?? '',
  cookie_value: ([name], req) => cookies(req, name as string)[0] ?? '',
};

function evaluate(n: JNode, input: MatchRequest | BreakerStats): Value {
  const ev = (x: unknown) => evaluate(x as JNode, input);
  switch (n.type) {
    case 'Literal': return n.value as Value;
    case 'ArrayExpression': return (n.elements as JNode[]).map(ev);
    case 'ObjectExpression':
      return Object.fromEntries((n.properties as JNode[]).map((p) => [(p.key as JNode).value as string, ev(p.value)]));
    case 'UnaryExpression': return n.operator === '!' ? !ev(n.argument) : -(ev(n.argument) as number);
    case 'ConditionalExpression': return ev(n.test) ? ev(n.consequent) : ev(n.alternate);
    case 'BinaryExpression': {
      const l = ev(n.left);
      switch (n.operator) {
        case '&&': return l === true && ev(n.right) === true;
        case '||': return l === true || ev(n.right) === true;
        case '==': return l === ev(n.right);
        case '!=': return l !== ev(n.right);
        case '<': return (l as number) < (ev(n.right) as number);
        case '<=': return (l as number) <= (ev(n.right) as number);
        case '>': return (l as number) > (ev(n.right) as number);
        case '>=': return (l as number) >= (ev(n.right) as number);
        case '+': return (l as string) + (ev(n.right) as string);
        default: throw new Error(`operator ${String(n.operator)}`);
      }
    }
    case 'CallExpression': {
      const name = (n.callee as JNode).name as string;
      const args = (n.arguments as JNode[]).map(ev);
      const s = input as BreakerStats;
      if (name === 'NetworkErrorRatio') return s.networkErrorRatio();
      if (name === 'ResponseCodeRatio') return s.responseCodeRatio(...(args as [number, number, number, number]));
      if (name === 'LatencyAtQuantileMS') return Math.trunc(s.latencyAtQuantileMS(args[0] as number));
      return REFERENCE[name]!(args, input as MatchRequest);
    }
    default: throw new Error(`node ${n.type}`);
  }
}

const q = (s: string) => `'${s}'`;
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const someOf = (xs: readonly string[], max = 3) => fc.uniqueArray(pick(xs), { minLength: 1, maxLength: max });
const globValues = ['a', 'a*', '*a', '*a*', '*', 'ab', '', 'a*b', 'b'];
const patternValue = (minList: number) => fc.oneof(pick(globValues).map(q), fc.uniqueArray(pick(globValues), { minLength: minList, maxLength: 2 }).map((vs) => `[${vs.map(q).join(', ')}]`));
const object = (keys: readonly string[], minList = 0) => fc.uniqueArray(pick(keys), { maxLength: 2 })
  .chain((ks) => fc.tuple(...ks.map((k) => patternValue(minList).map((v) => `${q(k)}: ${v}`))))
  .map((entries) => `{${entries.join(', ')}}`);

const leaf: fc.Arbitrary<string> = fc.oneof(
  pick(['true', 'false']),
  pick(['X-A', 'x-b', 'Host', 'Cookie']).map((h) => `header(${q(h)})`),
  object(['X-A', 'x-b', 'Host']).filter((o) => o !== '{}').map((o) => `header(${o})`),
  someOf(['/', '/a', '/a/*', '/a*', '*.js', '*/b/*', '/a/*/c', '/A/B', '//a', '*', '/a/b/']).map((ps) => `path(${ps.map(q).join(', ')})`),
  someOf(['/a', '/b/*']).map((ps) => `path([${ps.map(q).join(', ')}])`),
  someOf(['GET', 'POST', 'put']).map((ms) => `method(${ms.map(q).join(', ')})`),
  object(['a', 'b'], 1).map((o) => `query(${o})`),
  someOf(['example.com', '*.example.com', 'a.example.com', '*', 'EXAMPLE.com']).map((hs) => `host(${hs.map(q).join(', ')})`),
  someOf(['10.0.0.0/8', '10.1.0.0/16', '192.168.1.1', 'fd00::/8', '::1', '2001:db8::/32', '0.0.0.0/0']).map((rs) => `remote_ip(${rs.map(q).join(', ')})`),
  fc.tuple(pick(['s', 't']), fc.option(pick(['1', '1*', '*', 'x']), { nil: undefined })).map(([n, v]) => `cookie(${q(n)}${v === undefined ? '' : `, ${q(v)}`})`),
  pick(['http', 'https', 'grpc', 'http/1.0', 'http/1.0+', 'http/1.1', 'http/1.1+', 'http/2', 'http/2+']).map((p) => `protocol(${q(p)})`),
  pick(['^a', 'b$', 'a.b', '(?i)A']).map((r) => `header_regexp('X-A', ${q(r)})`),
  pick(['^/a', '\\\\.js$', '^/A', '^/a/b/$']).map((r) => `path_regexp(${q(r)})`),
  fc.tuple(pick(['header_value(\'X-A\')', 'query_value(\'a\')', 'cookie_value(\'s\')']), pick(['==', '!=']), pick(['a', 'ab', '1', '', 'x y'])).map(([f, op, v]) => `(${f} ${op} ${q(v)})`),
);

const { matcher } = fc.letrec<{ matcher: string }>((tie) => ({
  matcher: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('matcher').map((m) => `!(${m})`),
    fc.tuple(tie('matcher'), pick(['&&', '||', '==', '!=']), tie('matcher')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie('matcher'), tie('matcher'), tie('matcher')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
  ),
}));

const pathSegment = pick(['a', 'b', 'c', 'A', 'B', 'x.js', '%61', '..', '.', '', 'caf%C3%A9']);
const urlArb = fc.tuple(
  fc.option(pick(['http://example.com', '/']), { nil: '' }),
  fc.array(pathSegment, { maxLength: 4 }),
  fc.option(fc.array(fc.tuple(pick(['a', 'b', 'c']), fc.option(pick(['1', '2', 'x+y', 'x%20y', '', 'ab', 'b']), { nil: undefined })), { maxLength: 3 }), { nil: undefined }),
  fc.option(pick(['#a=2', '#/a']), { nil: '' }),
).map(([prefix, segs, params, frag]) => {
  const qs = params === undefined ? '' : `?${params.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`;
  return `${prefix}/${segs.join('/')}${qs}${frag}`;
});
const headerValue = fc.oneof(pick(['a', 'ab', 'ba', 'b', '', 'aXb', 'a.b']), fc.array(pick(['a', 'b', 'ab']), { minLength: 1, maxLength: 2 }));

const requestArb = fc.record({
  method: pick(['GET', 'POST', 'PUT']),
  url: urlArb,
  host: pick(['example.com', 'a.example.com', 'A.EXAMPLE.com:8080', 'b.a.example.com', 'localhost', '[::1]:80', 'example.com.']),
  headers: fc.record({
    'x-a': headerValue,
    'x-b': headerValue,
    host: pick(['example.com', 'a.example.com']),
    cookie: pick(['s=1', 's=1x; t=x', 't="x"', 'st=1', 's=', 's="1"; s=2']),
    'content-type': pick(['application/grpc', 'application/grpc+proto', 'text/plain']),
  }, { requiredKeys: [] }),
  remoteAddress: pick(['10.1.2.3', '10.2.0.1', '192.168.1.1', '8.8.8.8', 'fd00::1', '::1', '2001:db8::5', 'fe80::1', '::ffff:10.1.2.3']),
  httpVersion: pick(['1.0', '1.1', '2.0']),
  secure: fc.boolean(),
}).map((r) => request(r));

test('compiled matchers agree with a reference evaluator walking the AST', () => {
  fc.assert(fc.property(matcher, fc.array(requestArb, { minLength: 1, maxLength: 6 }), (source, reqs) => {
    const r = compileMatcher(source);
    assert.ok(r.ok, r.ok ? '' : formatExprError(r.error));
    const ast = jsep(source) as unknown as JNode;
    for (const req of reqs) assert.equal(r.fn(req), evaluate(ast, req), `${source} on ${JSON.stringify(req)}`);
  }), { numRuns: 800 });
});

const { breaker } = fc.letrec<{ breaker: string }>((tie) => ({
  breaker: fc.oneof(
    { depthSize: 'small' },
    fc.tuple(
      fc.oneof(
        fc.constant('NetworkErrorRatio()'),
        fc.tuple(pick([0, 200, 400, 500]), pick([300, 500, 600])).filter(([a, b]) => a < b).map(([a, b]) => `ResponseCodeRatio(${a}, ${b}, 0, 600)`),
        pick(['50.0', '99', '99.9']).map((x) => `LatencyAtQuantileMS(${x})`),
      ),
      pick(['>', '>=', '<', '<=', '==', '!=']),
      pick(['0', '0.25', '0.5', '1', '100']),
    ).map(([f, op, k]) => `${f} ${op} ${k}`),
    tie('breaker').map((b) => `!(${b})`),
    fc.tuple(tie('breaker'), pick(['&&', '||']), tie('breaker')).map(([a, op, b]) => `(${a} ${op} ${b})`),
  ),
}));

test('compiled breakers agree with a reference evaluator walking the AST', () => {
  const ratio = fc.constantFrom(0, 0.25, 0.5, 1, 0.3);
  fc.assert(fc.property(breaker, ratio, ratio, fc.constantFrom(0, 99.5, 100, 100.2, 250), (source, network, codes, latency) => {
    const r = compileBreaker(source);
    assert.ok(r.ok, r.ok ? '' : formatExprError(r.error));
    const s = stats({ network, codes, latency });
    assert.equal(r.fn(s), evaluate(jsep(source) as unknown as JNode, s), source);
  }), { numRuns: 400 });
});

// ---------------------------------------------------------------- key templates

type Part =
  | { text: string }
  | { kind: 'header' | 'query' | 'cookie'; spelling: string; name: string }
  | { kind: 'remote.ip' | 'method'; spelling: string };

const literal = fc.string({ unit: fc.constantFrom(...'abz09 -_:/|.,;#@!{}\\é'.split('')), minLength: 1, maxLength: 6 }).map((text) => ({ text }));
const name = fc.string({ unit: fc.constantFrom(...'abcxyz019-_'.split('')), minLength: 1, maxLength: 5 });
const part: fc.Arbitrary<Part> = fc.oneof(
  literal,
  fc.tuple(pick(['header.', 'http.request.header.']), name).map(([p, n]) => ({ kind: 'header' as const, spelling: p + n, name: n })),
  fc.tuple(pick(['query.', 'http.request.uri.query.']), name).map(([p, n]) => ({ kind: 'query' as const, spelling: p + n, name: n })),
  fc.tuple(pick(['cookie.', 'http.request.cookie.']), name).map(([p, n]) => ({ kind: 'cookie' as const, spelling: p + n, name: n })),
  pick(['remote.ip', 'http.request.remote.host', 'remote_host']).map((s) => ({ kind: 'remote.ip' as const, spelling: s })),
  pick(['method', 'http.request.method']).map((s) => ({ kind: 'method' as const, spelling: s })),
);
const value = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.~ é&=+%/'.split('')), maxLength: 8 });

test('key templates round-trip: rendered parts come back as text and values', () => {
  const parts = fc.array(part, { minLength: 1, maxLength: 6 }).filter((ps) => ps.some((p) => !('text' in p) || p.text.trim() !== ''));
  fc.assert(fc.property(parts, fc.dictionary(name, value), (parts, values) => {
    const render = parts.map((p) => ('text' in p ? p.text.replace(/[\\{}]/g, '\\$&') : `{${p.spelling}}`)).join('');
    const of = (n: string) => values[n] ?? '';
    // Header values as node:http gives them, cookie values without separators or spaces at the edges.
    const headerNames = new Set(parts.flatMap((p) => ('kind' in p && p.kind === 'header' ? [p.name.toLowerCase()] : [])));
    const headers: Record<string, string> = {};
    for (const n of headerNames) headers[n] = of(n).trim();
    const cookieOf = (n: string) => of(n).replace(/[;" ]/g, '');
    const cookieNames = [...new Set(parts.flatMap((p) => ('kind' in p && p.kind === 'cookie' ? [p.name] : [])))];
    if (cookieNames.length > 0) headers.cookie = cookieNames.map((n) => `${n}=${cookieOf(n)}`).join('; ');
    const queryNames = [...new Set(parts.flatMap((p) => ('kind' in p && p.kind === 'query' ? [p.name] : [])))];
    const url = `/p?${queryNames.map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(of(n))}`).join('&')}`;
    const req = request({ method: 'PATCH', url, headers, remoteAddress: 'fd00::7' });
    const expected = parts.map((p) => {
      if ('text' in p) return p.text;
      switch (p.kind) {
        case 'header': return headers[p.name.toLowerCase()];
        case 'query': return of(p.name);
        case 'cookie': return cookieOf(p.name);
        case 'remote.ip': return 'fd00::7';
        default: return 'PATCH';
      }
    }).join('');
    const r = compileKey(render);
    assert.ok(r.ok, r.ok ? '' : formatExprError(r.error));
    assert.equal(r.fn(req), expected, render);
  }), { numRuns: 500 });
});
