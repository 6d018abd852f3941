/**
 * The building blocks the matchers rest on: address parsing, globs, path cleaning, query and
 * cookie readers, and the regular-expression guard. Properties compare them with Node's own
 * parsers or a regular-expression reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';
import fc from 'fast-check';
import { compileGlob, compileSegmentGlob } from '../../src/expr/glob.ts';
import { parseIPv4, parseIPv6, parseRange } from '../../src/expr/ip.ts';
import { compileRegexp } from '../../src/expr/regexp.ts';
import { cleanPath, firstCookieValue, firstQueryValue, hasNoQuery, hostName, percentDecode } from '../../src/expr/request.ts';
import { request } from './fixtures.ts';

test('IPv4 parsing agrees with node:net, and values are right', () => {
  const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom('', '00', '01', '-1', 'a'));
  const candidate = fc.oneof(
    fc.array(octet, { minLength: 1, maxLength: 5 }).map((a) => a.join('.')),
    fc.string({ unit: fc.constantFrom(...'0123456789.'.split('')), maxLength: 16 }),
  );
  fc.assert(fc.property(candidate, (s) => {
    assert.equal(parseIPv4(s) >= 0, isIPv4(s), s);
  }), { numRuns: 2000 });
  assert.equal(parseIPv4('10.1.2.3'), 10 * 2 ** 24 + 1 * 2 ** 16 + 2 * 2 ** 8 + 3);
  assert.equal(parseIPv4('255.255.255.255'), 2 ** 32 - 1);
});

test('IPv6 parsing agrees with node:net, and groups are right', () => {
  const group = fc.oneof(fc.nat(0xffff).map((n) => n.toString(16)), fc.constantFrom('', '0', '00000', 'g', 'FFFF', '1.2.3.4'));
  const candidate = fc.oneof(
    fc.array(group, { minLength: 1, maxLength: 10 }).map((a) => a.join(':')),
    fc.tuple(fc.array(group, { maxLength: 5 }), fc.array(group, { maxLength: 5 })).map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.'.split('')), maxLength: 24 }),
  );
  const g = new Uint16Array(8);
  fc.assert(fc.property(candidate, (s) => {
    assert.equal(parseIPv6(s, g), isIPv6(s), s);
  }), { numRuns: 3000 });
  const groups = (s: string) => (parseIPv6(s, g) ? [...g] : undefined);
  assert.deepEqual(groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(groups('1::'), [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(groups('::ffff:10.1.2.3'), [0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0203]);
  assert.deepEqual(groups('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(groups('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('CIDR ranges: host bits are cleared, prefix lengths checked', () => {
  assert.deepEqual(parseRange('10.1.2.3/8'), { net: 10 * 2 ** 24, mask: 0xff000000 });
  assert.deepEqual(parseRange('10.1.2.3'), { net: parseIPv4('10.1.2.3'), mask: 0xffffffff });
  assert.deepEqual(parseRange('0.0.0.0/0'), { net: 0, mask: 0 });
  const v6 = parseRange('2001:db8:ffff::1/33');
  assert.ok(typeof v6 === 'object' && 'groups' in v6);
  assert.deepEqual([...v6.groups], [0x2001, 0xdb8, 0x8000, 0, 0, 0, 0, 0]);
  assert.match(parseRange('10.0.0.0/33') as string, /at most 32/);
  assert.match(parseRange('10.0.0.0/') as string, /prefix length "" is not a number/);
  assert.match(parseRange('10.0.0.0/08') as string, /not a number/);
  assert.match(parseRange('example.com') as string, /expected an IPv4 or IPv6 address/);
});

test('globs agree with an equivalent regular expression', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '/'), maxLength: 10 });
  const glob = fc.string({ unit: fc.constantFrom('a', 'b', '*', '.', '/'), maxLength: 8 });
  const toRe = (p: string, star: string) => new RegExp(`^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join(star)}$`);
  fc.assert(fc.property(glob, text, (p, s) => {
    assert.equal(compileGlob(p)(s), toRe(p, '.*').test(s), `${p} ~ ${s}`);
    assert.equal(compileSegmentGlob(p, '.')(s), toRe(p, '[^.]*').test(s), `${p} ~ ${s} by labels`);
  }), { numRuns: 3000 });
});

test('path cleaning matches Go\'s path.Clean with Caddy\'s trailing slash rule', () => {
  const path = fc.array(fc.constantFrom('a', 'b', '.', '..', ''), { maxLength: 6 }).map((s) => `/${s.join('/')}`);
  fc.assert(fc.property(path, (p) => {
    let want = posix.normalize(p);
    if (want.length > 1 && want.endsWith('/')) want = want.slice(0, -1);
    if (want !== '/' && p.endsWith('/')) want += '/';
    assert.equal(cleanPath(p, true), want, p);
  }), { numRuns: 1000 });
  assert.equal(cleanPath('/a//b//', false), '/a//b//');
  assert.equal(cleanPath('//a/../b', false), '//b');
  assert.equal(cleanPath('', true), '/');
});

test('percent-decoding keeps invalid escapes and decodes valid runs', () => {
  assert.equal(percentDecode('/a%20b'), '/a b');
  assert.equal(percentDecode('/caf%C3%A9/%zz/%'), '/café/%zz/%');
  assert.equal(percentDecode('/%C3'), '/%C3');
  assert.equal(percentDecode('/plain'), '/plain');
});

test('query reader: first value, decoding, fragments, empty queries', () => {
  assert.equal(firstQueryValue('/p?a=1&a=2', 'a'), '1');
  assert.equal(firstQueryValue('/p?b=1&a', 'a'), '');
  assert.equal(firstQueryValue('/p?a%5B%5D=x', 'a[]'), 'x');
  assert.equal(firstQueryValue('/p?x=1#a=2', 'a'), undefined);
  assert.equal(firstQueryValue('/p?aa=1', 'a'), undefined);
  assert.equal(firstQueryValue('/p', 'a'), undefined);
  assert.equal(firstQueryValue('/p?a=x=y', 'a'), 'x=y');
  assert.equal(hasNoQuery('/p?#x'), true);
  assert.equal(hasNoQuery('/p?=1'), false);
});

test('cookie reader: names are exact, spaces and quotes trimmed, several fields', () => {
  const r = (cookie: string | string[]) => request({ headers: { cookie } });
  assert.equal(firstCookieValue(r('a=1; b=2'), 'b'), '2');
  assert.equal(firstCookieValue(r('ab=1; b=2'), 'b'), '2');
  assert.equal(firstCookieValue(r('a=1;b=2 '), 'b'), '2');
  assert.equal(firstCookieValue(r('b="q v"'), 'b'), 'q v');
  assert.equal(firstCookieValue(r(['a=1', 'b=3']), 'b'), '3');
  assert.equal(firstCookieValue(r('b'), 'b'), undefined);
  assert.equal(firstCookieValue(r('a=1'), 'b'), undefined);
});

test('host names lose their port, brackets and trailing dot', () => {
  assert.equal(hostName('Example.com:8080'), 'Example.com');
  assert.equal(hostName('[fd00::1]:443'), 'fd00::1');
  assert.equal(hostName('fd00::1'), 'fd00::1');
  assert.equal(hostName('svc.ns.hostmesh.'), 'svc.ns.hostmesh');
});

test('regular expressions: RE2 spellings translated, dangerous constructs refused', () => {
  const ok = (p: string, s: string) => {
    const r = compileRegexp(p);
    assert.ok(r.ok, `${p}: ${r.ok ? '' : r.message}`);
    return r.re.test(s);
  };
  assert.equal(ok('(?i)abc', 'xABCx'), true);
  assert.equal(ok('(?is)a.b', 'A\nB'), true);
  assert.equal(ok('(?P<year>\\d{4})-\\d\\d', '2024-05'), true);
  assert.equal(ok('^a\\z', 'a'), true);
  assert.equal(ok('\\Aab', 'ab'), true);
  assert.equal(ok('(a|b)+c', 'abac'), true);
  assert.equal(ok('(\\d+)?x', 'x'), true);
  assert.equal(ok('(a+){2,3}', 'aaa'), true);
  assert.equal(ok('[(]+x', '((x'), true);
  for (const [p, why] of [
    ['(a+)+', /exponential/],
    ['(a*)*b', /exponential/],
    ['((ab)+c)*', /exponential/],
    ['(?:x{2,})+', /exponential/],
    ['(?=a)', /lookahead/],
    ['(?<!a)b', /lookbehind/],
    ['(a)\\1', /backreferences/],
    ['(?<n>a)\\k<n>', /backreferences/],
    ['(?U)a+', /ungreedy/],
    ['a{2', /./],
    ['[', /Unterminated character class/],
  ] as const) {
    const r = compileRegexp(p);
    if (p === 'a{2') {
      // JavaScript reads a lone `{` literally, like RE2.
      assert.equal(r.ok, true);
      continue;
    }
    assert.equal(r.ok, false, p);
    if (!r.ok) assert.match(r.message, why, p);
  }
});
