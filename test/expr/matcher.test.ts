/**
 * Request matchers, table-driven: every function and operator, on requests that should and
 * should not match. Each table row is [expression, request fields, expected result].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher, formatExprError } from '../../src/expr/index.ts';
import { request } from './fixtures.ts';

type Row = [string, Parameters<typeof request>[0], boolean];

function check(rows: Row[]): void {
  const wrong: string[] = [];
  for (const [source, over, want] of rows) {
    const r = compileMatcher(source);
    if (!r.ok) {
      wrong.push(`${source}: did not compile: ${formatExprError(r.error)}`);
      continue;
    }
    const got = r.fn(request(over));
    if (got !== want) wrong.push(`${source} on ${JSON.stringify(over)}: got ${got}, want ${want}`);
  }
  assert.deepEqual(wrong, []);
}

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36';
const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';

test('the Caddy Mesh README workflow expressions', () => {
  check([
    ['false', { headers: { 'user-agent': chrome } }, false],
    ['header({\'User-Agent\': \'*Chrome*\'})', { headers: { 'user-agent': chrome } }, true],
    ['header({\'User-Agent\': \'*Chrome*\'})', { headers: { 'user-agent': firefox } }, false],
    ['header({\'User-Agent\': \'*Chrome*\'})', {}, false],
    ['true', { headers: { 'user-agent': firefox } }, true],
    // The README's retry-on example.
    ['path(\'/foo/*\')', { url: '/foo/bar' }, true],
    ['path(\'/foo/*\')', { url: '/foo' }, false],
  ]);
});

test('header: presence, globs, lists, several fields, repeated values, Host', () => {
  check([
    ['header(\'X-Canary\')', { headers: { 'x-canary': '' } }, true],
    ['header(\'X-Canary\')', { headers: {} }, false],
    ['header(\'x-CANARY\')', { headers: { 'x-canary': '1' } }, true],
    ['header({\'User-Agent\': \'Mozilla*\'})', { headers: { 'user-agent': firefox } }, true],
    ['header({\'User-Agent\': \'*Safari/537.36\'})', { headers: { 'user-agent': chrome } }, true],
    ['header({\'User-Agent\': \'*Safari/537.36\'})', { headers: { 'user-agent': firefox } }, false],
    ['header({\'User-Agent\': \'curl/8.5.0\'})', { headers: { 'user-agent': 'curl/8.5.0' } }, true],
    ['header({\'User-Agent\': \'curl/8.5.0\'})', { headers: { 'user-agent': 'curl/8.5.01' } }, false],
    ['header({\'User-Agent\': \'*\'})', { headers: { 'user-agent': '' } }, true],
    ['header({\'User-Agent\': \'Mozilla*Chrome/*Safari*\'})', { headers: { 'user-agent': chrome } }, true],
    ['header({\'User-Agent\': \'Mozilla*Chrome/*Safari*\'})', { headers: { 'user-agent': firefox } }, false],
    // Values are case-sensitive, names are not.
    ['header({\'user-agent\': \'*chrome*\'})', { headers: { 'user-agent': chrome } }, false],
    ['header({\'X-Env\': [\'canary\', \'beta\']})', { headers: { 'x-env': 'beta' } }, true],
    ['header({\'X-Env\': [\'canary\', \'beta\']})', { headers: { 'x-env': 'prod' } }, false],
    ['header({\'X-Env\': []})', { headers: { 'x-env': 'prod' } }, true],
    ['header({\'X-Env\': []})', { headers: {} }, false],
    ['header({\'X-A\': \'1\', \'X-B\': \'2\'})', { headers: { 'x-a': '1', 'x-b': '2' } }, true],
    ['header({\'X-A\': \'1\', \'X-B\': \'2\'})', { headers: { 'x-a': '1', 'x-b': '3' } }, false],
    ['header({\'X-A\': \'1\', \'X-B\': \'2\'})', { headers: { 'x-a': '1' } }, false],
    ['header({\'Set-Cookie\': \'b=*\'})', { headers: { 'set-cookie': ['a=1', 'b=2'] } }, true],
    ['header({\'Set-Cookie\': \'c=*\'})', { headers: { 'set-cookie': ['a=1', 'b=2'] } }, false],
    // HTTP/2 has :authority instead of Host; the request's host stands in for it.
    ['header({\'Host\': \'*.example.com\'})', { host: 'api.example.com', headers: {} }, true],
    ['header({\'Host\': \'*.example.com\'})', { host: 'example.org', headers: {} }, false],
    ['header(\'Host\')', { host: 'example.org', headers: {} }, true],
    ['header({\':protocol\': \'websocket\'})', { headers: { ':protocol': 'websocket' } }, true],
    // Header names that are also Object.prototype members are never read from the prototype.
    ['header(\'constructor\')', { headers: {} }, false],
    ['header({\'__proto__\': \'*\'})', { headers: {} }, false],
    ['header({\'toString\': \'*\'})', { headers: { tostring: 'x' } }, true],
  ]);
});

test('header_regexp: two and three arguments, RE2 spellings, repeated values', () => {
  check([
    ['header_regexp(\'Cookie\', \'login_([a-f0-9]+)\')', { headers: { cookie: 'a=1; login_0af3=x' } }, true],
    ['header_regexp(\'Cookie\', \'login_([a-f0-9]+)\')', { headers: { cookie: 'a=1' } }, false],
    ['header_regexp(\'login\', \'Cookie\', \'login_([a-f0-9]+)\')', { headers: { cookie: 'login_99' } }, true],
    ['header_regexp(\'X-Id\', \'^\\\\d{3}$\')', { headers: { 'x-id': '123' } }, true],
    ['header_regexp(\'X-Id\', \'^\\\\d{3}$\')', { headers: { 'x-id': '1234' } }, false],
    ['header_regexp(\'User-Agent\', \'(?i)CHROME\')', { headers: { 'user-agent': chrome } }, true],
    ['header_regexp(\'User-Agent\', \'(?P<browser>Firefox)/\\\\d+\')', { headers: { 'user-agent': firefox } }, true],
    ['header_regexp(\'X-Id\', \'^7\\\\z\')', { headers: { 'x-id': '7' } }, true],
    ['header_regexp(\'X-M\', \'^b$\')', { headers: { 'x-m': ['a', 'b'] } }, true],
    ['header_regexp(\'X-Id\', \'.*\')', { headers: {} }, false],
    // Only \\ \' \" are string escapes; other backslashes reach the regexp as written.
    ['header_regexp(\'X-Id\', \'^\\d{3}$\')', { headers: { 'x-id': '123' } }, true],
    ['header_regexp(\'X-Id\', \'^\\d{3}$\')', { headers: { 'x-id': 'ddd' } }, false],
    ['header_regexp(\'X-W\', \'\\bfoo\\b\')', { headers: { 'x-w': 'a foo b' } }, true],
    ['header_regexp(\'X-W\', \'\\bfoo\\b\')', { headers: { 'x-w': 'afoob' } }, false],
    ['header_regexp(\'X-Q\', "^it\\\'s$")', { headers: { 'x-q': 'it\'s' } }, true],
  ]);
});

test('path: Caddy\'s exact, prefix, suffix, substring and globular forms, case-insensitive', () => {
  check([
    ['path(\'/api/users\')', { url: '/api/users' }, true],
    ['path(\'/api/users\')', { url: '/API/Users?x=1' }, true],
    ['path(\'/api/users\')', { url: '/api/users/' }, false],
    ['path(\'/api/users\')', { url: '/api/users2' }, false],
    ['path(\'/api/*\')', { url: '/api/' }, true],
    ['path(\'/api/*\')', { url: '/api/v1/x' }, true],
    ['path(\'/api/*\')', { url: '/api' }, false],
    ['path(\'/api/*\')', { url: '/apiv2' }, false],
    ['path(\'/foo*\')', { url: '/foobar' }, true],
    ['path(\'/foo*\')', { url: '/foo' }, true],
    ['path(\'*.js\')', { url: '/static/app.JS' }, true],
    ['path(\'*.js\')', { url: '/static/app.json' }, false],
    ['path(\'*/admin/*\')', { url: '/x/admin/y' }, true],
    ['path(\'*/admin/*\')', { url: '/x/administrator' }, false],
    ['path(\'/accounts/*/info\')', { url: '/accounts/42/info' }, true],
    ['path(\'/accounts/*/info\')', { url: '/accounts/4/2/info' }, false],
    ['path(\'/a/*/b/*\')', { url: '/a/1/b/2' }, true],
    ['path(\'/a/*/b/*\')', { url: '/a/1/b/2/3' }, false],
    ['path(\'*\')', { url: '/anything?at=all' }, true],
    // Several patterns, or a list, match any.
    ['path(\'/a\', \'/b/*\')', { url: '/b/c' }, true],
    ['path([\'/a\', \'/b/*\'])', { url: '/c' }, false],
    // The query and fragment are not part of the path.
    ['path(\'/api/*\')', { url: '/x?next=/api/y' }, false],
    ['path(\'*.js\')', { url: '/x?file=a.js' }, false],
    ['path(\'/p\')', { url: '/p#frag' }, true],
    // Absolute-form request targets.
    ['path(\'/api/*\')', { url: 'http://server.test/api/x?y' }, true],
    ['path(\'/\')', { url: 'http://server.test' }, true],
  ]);
});

test('path: the request path is decoded and cleaned before matching, like Caddy', () => {
  check([
    ['path(\'/api/*\')', { url: '/api/../admin' }, false],
    ['path(\'/admin\')', { url: '/api/../admin' }, true],
    ['path(\'/admin\')', { url: '/api/%2e%2e/admin' }, true],
    ['path(\'/api/*\')', { url: '//api//x' }, true],
    ['path(\'/api/x\')', { url: '/api/./x' }, true],
    ['path(\'/api/*\')', { url: '/%61pi/x' }, true],
    ['path(\'/a b\')', { url: '/a%20b' }, true],
    ['path(\'/caf\u00e9\')', { url: '/caf%C3%A9' }, true],
    ['path(\'/caf\u00e9\')', { url: '/CAF%C3%89' }, true],
    ['path(\'/dir/\')', { url: '/dir/.' }, false],
    ['path(\'/dir/\')', { url: '/x/../dir/' }, true],
    ['path(\'/..\')', { url: '/..' }, false],
    ['path(\'/\')', { url: '/..' }, true],
    // A pattern with // keeps repeated slashes significant.
    ['path(\'//x\')', { url: '//x' }, true],
    ['path(\'//x\')', { url: '/x' }, false],
    // A pattern with % compares in escaped space.
    ['path(\'/a%2fb\')', { url: '/a%2Fb' }, true],
    ['path(\'/a%2fb\')', { url: '/a/b' }, false],
    ['path(\'/a/b\')', { url: '/a%2Fb' }, true],
    // Invalid escapes stay as they are.
    ['path(\'/a%zz\')', { url: '/a%zz' }, true],
  ]);
});

test('path_regexp: against the decoded, cleaned path, case-sensitive', () => {
  check([
    ['path_regexp(\'^/api/v[0-9]+/\')', { url: '/api/v2/users' }, true],
    ['path_regexp(\'^/api/v[0-9]+/\')', { url: '/API/v2/users' }, false],
    ['path_regexp(\'static\', \'\\\\.([a-f0-9]{6})\\\\.(css|js)$\')', { url: '/a.0f0f0f.css?v=1' }, true],
    ['path_regexp(\'^/admin$\')', { url: '/x/../admin' }, true],
    ['path_regexp(\'^/a b$\')', { url: '/a%20b' }, true],
    ['path_regexp(\'^/user/(\\\\w*)\') || path_regexp(\'^/(\\\\w*)\')', { url: '/bob' }, true],
    ['path_regexp(\'\\.js$\')', { url: '/app.js' }, true],
    ['path_regexp(\'\\.js$\')', { url: '/appxjs' }, false],
  ]);
});

test('method', () => {
  check([
    ['method(\'GET\')', { method: 'GET' }, true],
    ['method(\'GET\')', { method: 'POST' }, false],
    ['method(\'PUT\', \'DELETE\')', { method: 'DELETE' }, true],
    ['method([\'GET\', \'HEAD\', \'OPTIONS\'])', { method: 'HEAD' }, true],
    ['method(\'post\')', { method: 'POST' }, true],
  ]);
});

test('query: exact values, globs, lists, several keys, no query', () => {
  check([
    ['query({\'sort\': \'asc\'})', { url: '/?sort=asc' }, true],
    ['query({\'sort\': \'asc\'})', { url: '/?sort=desc' }, false],
    ['query({\'sort\': \'asc\'})', { url: '/' }, false],
    ['query({\'sort\': [\'asc\', \'desc\']})', { url: '/?sort=desc' }, true],
    ['query({\'q\': \'*\'})', { url: '/?q=' }, true],
    ['query({\'q\': \'*\'})', { url: '/?q' }, true],
    ['query({\'q\': \'*\'})', { url: '/?qq=1' }, false],
    ['query({\'q\': \'*bar*\'})', { url: '/?q=foobarbaz' }, true],
    ['query({\'sort\': [\'asc\', \'desc\'], \'q\': \'*\'})', { url: '/?q=x&sort=asc' }, true],
    ['query({\'sort\': [\'asc\', \'desc\'], \'q\': \'*\'})', { url: '/?sort=asc' }, false],
    // Repeated keys: any value may match.
    ['query({\'tag\': \'b\'})', { url: '/?tag=a&tag=b' }, true],
    // Names and values are decoded; + is a space.
    ['query({\'a b\': \'c d\'})', { url: '/?a%20b=c+d' }, true],
    ['query({\'x\': \'\u00e9\'})', { url: '/?x=%C3%A9' }, true],
    ['query({\'x\': \'1\'})', { url: '/?y=2&x=1#x=2' }, true],
    ['query({\'x\': \'2\'})', { url: '/?y=2&x=1#x=2' }, false],
    ['query({})', { url: '/p' }, true],
    ['query({})', { url: '/p?' }, true],
    ['query({})', { url: '/p?&&' }, true],
    ['query({})', { url: '/p?a=1' }, false],
    // Keys are case-sensitive.
    ['query({\'Sort\': \'asc\'})', { url: '/?sort=asc' }, false],
  ]);
});

test('host: case-insensitive, port ignored, * is one label', () => {
  check([
    ['host(\'api.example.com\')', { host: 'API.example.com:8443' }, true],
    ['host(\'api.example.com\')', { host: 'api.example.org' }, false],
    ['host(\'a.example.com\', \'b.example.com\')', { host: 'b.example.com' }, true],
    ['host(\'*.example.com\')', { host: 'foo.example.com' }, true],
    ['host(\'*.example.com\')', { host: 'foo.bar.example.com' }, false],
    ['host(\'*.example.com\')', { host: 'example.com' }, false],
    ['host(\'*\')', { host: 'localhost:80' }, true],
    ['host(\'*\')', { host: 'example.com' }, false],
    ['host(\'api-*.example.com\')', { host: 'api-v2.example.com' }, true],
    ['host(\'server.test.hostmesh\')', { host: 'server.test.hostmesh.' }, true],
    ['host(\'::1\')', { host: '[::1]:8080' }, true],
  ]);
});

test('remote_ip / client_ip: IPv4, IPv6, plain addresses, private_ranges', () => {
  check([
    ['remote_ip(\'10.0.0.0/8\')', { remoteAddress: '10.200.3.4' }, true],
    ['remote_ip(\'10.0.0.0/8\')', { remoteAddress: '11.0.0.1' }, false],
    ['remote_ip(\'192.168.1.10\')', { remoteAddress: '192.168.1.10' }, true],
    ['remote_ip(\'192.168.1.10\')', { remoteAddress: '192.168.1.11' }, false],
    ['remote_ip(\'0.0.0.0/0\')', { remoteAddress: '203.0.113.9' }, true],
    ['remote_ip(\'172.16.0.0/12\')', { remoteAddress: '172.31.255.255' }, true],
    ['remote_ip(\'172.16.0.0/12\')', { remoteAddress: '172.32.0.0' }, false],
    ['remote_ip(\'255.255.255.255\')', { remoteAddress: '255.255.255.255' }, true],
    ['remote_ip(\'fd00::/8\')', { remoteAddress: 'fd12:3456::1' }, true],
    ['remote_ip(\'fd00::/8\')', { remoteAddress: 'fe80::1' }, false],
    ['remote_ip(\'2001:db8::/32\')', { remoteAddress: '2001:db8:ffff::1' }, true],
    ['remote_ip(\'2001:db8::/33\')', { remoteAddress: '2001:db8:ffff::1' }, false],
    ['remote_ip(\'::1\')', { remoteAddress: '::1' }, true],
    ['remote_ip(\'::1\')', { remoteAddress: '::2' }, false],
    ['remote_ip(\'fe80::1\')', { remoteAddress: 'fe80::1%eth0' }, true],
    // An IPv4-mapped client address is compared as IPv4.
    ['remote_ip(\'10.0.0.0/8\')', { remoteAddress: '::ffff:10.1.2.3' }, true],
    ['remote_ip(\'::ffff:10.0.0.0/104\')', { remoteAddress: '10.1.2.3' }, true],
    ['remote_ip(\'10.0.0.0/8\', \'fd00::/8\')', { remoteAddress: 'fd00::5' }, true],
    ['remote_ip([\'10.0.0.0/8\', \'192.168.0.0/16\'])', { remoteAddress: '192.168.0.1' }, true],
    ['remote_ip(\'private_ranges\')', { remoteAddress: '127.0.0.1' }, true],
    ['remote_ip(\'private_ranges\')', { remoteAddress: '8.8.8.8' }, false],
    ['client_ip(\'10.0.0.0/8\')', { remoteAddress: '10.0.0.9' }, true],
    ['remote_ip(\'10.0.0.0/8\')', { remoteAddress: 'not-an-ip' }, false],
  ]);
});

test('cookie: presence and value globs', () => {
  check([
    ['cookie(\'session\')', { headers: { cookie: 'theme=dark; session=abc' } }, true],
    ['cookie(\'session\')', { headers: { cookie: 'sessionid=abc' } }, false],
    ['cookie(\'session\')', { headers: {} }, false],
    ['cookie(\'theme\', \'dark\')', { headers: { cookie: 'theme=dark' } }, true],
    ['cookie(\'theme\', \'dark\')', { headers: { cookie: 'theme=darker' } }, false],
    ['cookie(\'theme\', \'dark*\')', { headers: { cookie: 'theme=darker' } }, true],
    ['cookie(\'theme\', \'dark\')', { headers: { cookie: 'theme="dark"' } }, true],
    ['cookie(\'b\', \'2\')', { headers: { cookie: ['a=1', 'b=2'] } }, true],
    ['cookie(\'canary\', \'\')', { headers: { cookie: 'canary=' } }, true],
  ]);
});

test('protocol', () => {
  const grpc = { 'content-type': 'application/grpc+proto' };
  check([
    ['protocol(\'http\')', { secure: false }, true],
    ['protocol(\'http\')', { secure: true }, false],
    ['protocol(\'https\')', { secure: true }, true],
    ['protocol(\'grpc\')', { headers: grpc, httpVersion: '2.0' }, true],
    ['protocol(\'grpc\')', { headers: { 'content-type': 'application/json' } }, false],
    ['protocol(\'GRPC\')', { headers: { 'content-type': 'Application/GRPC' } }, true],
    ['protocol(\'http/1.0\')', { httpVersion: '1.0' }, true],
    ['protocol(\'http/1.1\')', { httpVersion: '1.0' }, false],
    ['protocol(\'http/1.1\')', { httpVersion: '1.1' }, true],
    ['protocol(\'http/2\')', { httpVersion: '2.0' }, true],
    ['protocol(\'http/2\')', { httpVersion: '1.1' }, false],
    ['protocol(\'http/1.1+\')', { httpVersion: '2.0' }, true],
    ['protocol(\'http/1.1+\')', { httpVersion: '1.0' }, false],
    ['protocol(\'http/2+\')', { httpVersion: '2.0' }, true],
    ['protocol(\'http/1.0+\')', { httpVersion: '1.0' }, true],
  ]);
});

test('operators: ! && || == != comparisons, precedence, parentheses, ? :', () => {
  const post = { method: 'POST', url: '/api/x' };
  check([
    ['!true', {}, false],
    ['!!true', {}, true],
    ['path(\'/api/*\') && method(\'POST\')', post, true],
    ['path(\'/api/*\') && method(\'POST\')', { method: 'GET', url: '/api/x' }, false],
    ['method(\'GET\') || method(\'POST\')', post, true],
    ['method(\'GET\') || method(\'PUT\')', post, false],
    // && binds tighter than ||.
    ['true || false && false', {}, true],
    ['(true || false) && false', {}, false],
    ['!(method(\'GET\') || method(\'HEAD\'))', post, true],
    ['!path(\'/api*\') && !method(\'POST\')', post, false],
    ['method(\'GET\') || method(\'PUT\') || method(\'POST\') || method(\'PATCH\')', post, true],
    ['true && true && true && false', {}, false],
    ['method(\'POST\') == path(\'/api/*\')', post, true],
    ['method(\'POST\') != path(\'/api/*\')', post, false],
    ['true == false', {}, false],
    ['1 < 2', {}, true],
    ['2 <= 2', {}, true],
    ['3 > 4', {}, false],
    ['-1 >= -1.5', {}, true],
    ['1e3 == 1000', {}, true],
    ['\'a\' == "a"', {}, true],
    ['\'a\' != \'b\'', {}, true],
    ['method(\'POST\') ? path(\'/api/*\') : false', post, true],
    ['method(\'GET\') ? true : header(\'x-none\')', post, false],
    ['method(\'GET\') ? \'get\' == \'x\' : \'post\' == \'post\'', post, true],
  ]);
});

test('value functions and placeholders inside matchers', () => {
  const r = { url: '/api/x?tier=gold', headers: { 'x-env': 'canary', cookie: 'ab=B' }, method: 'POST' };
  check([
    ['header_value(\'X-Env\') == \'canary\'', r, true],
    ['header_value(\'X-None\') == \'\'', r, true],
    ['query_value(\'tier\') == \'gold\'', r, true],
    ['cookie_value(\'ab\') != \'A\'', r, true],
    ['{method} == \'POST\'', r, true],
    ['{http.request.method} == \'GET\'', r, false],
    ['{header.X-Env} + \'-\' + {query.tier} == \'canary-gold\'', r, true],
    ['{http.request.uri.path} == \'/api/x\'', r, true],
    ['{remote.ip} == \'10.0.0.1\'', r, true],
    ['header({\'X-Env\': \'{x}\'})', { headers: { 'x-env': '{x}' } }, true],
  ]);
});

test('random() gives numbers in [0, 1): random() < 0.1 matches about a tenth of requests', () => {
  const r = compileMatcher('random() < 0.1');
  assert.ok(r.ok);
  const always = compileMatcher('random() >= 0 && random() < 1');
  assert.ok(always.ok);
  let hits = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    if (r.fn(request())) hits++;
    assert.equal(always.fn(request()), true);
  }
  // Binomial(20000, 0.1): mean 2000, sd 42; the bounds are over 7 sd away.
  assert.ok(hits > 1700 && hits < 2300, `${hits} of ${n}`);
});
