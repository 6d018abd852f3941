/**
 * Rate-limit keys: every placeholder in both spellings, templates with literal text, key
 * expressions, and the rule that tells a template from an expression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileKey, formatExprError } from '../../src/expr/index.ts';
import { request } from './fixtures.ts';

type Row = [string, Parameters<typeof request>[0], string];

function check(rows: Row[]): void {
  const wrong: string[] = [];
  for (const [source, over, want] of rows) {
    const r = compileKey(source);
    if (!r.ok) {
      wrong.push(`${source}: did not compile: ${formatExprError(r.error)}`);
      continue;
    }
    const got = r.fn(request(over));
    if (got !== want) wrong.push(`${source} on ${JSON.stringify(over)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  assert.deepEqual(wrong, []);
}

const full = {
  method: 'POST',
  url: '/api/caf%C3%A9?id=42&id=43&q=a+b&enc=%2F',
  host: 'Server.Test.hostmesh:8080',
  headers: { 'x-user': 'alice', 'x-multi': 'a, b', 'set-cookie': ['s=1', 't=2'], cookie: 'session=abc123; theme="dark"' },
  remoteAddress: '10.1.2.3',
  remotePort: 51234,
  httpVersion: '2.0',
  secure: true,
};

test('placeholders: hostmesh names, Caddy shorthands and Caddy full names agree', () => {
  check([
    ['{remote.ip}', full, '10.1.2.3'],
    ['{remote_host}', full, '10.1.2.3'],
    ['{client_ip}', full, '10.1.2.3'],
    ['{http.request.remote.host}', full, '10.1.2.3'],
    ['{http.request.client_ip}', full, '10.1.2.3'],
    ['{remote.port}', full, '51234'],
    ['{remote_port}', full, '51234'],
    ['{http.request.remote.port}', full, '51234'],
    ['{remote}', full, '10.1.2.3:51234'],
    ['{http.request.remote}', { remoteAddress: 'fd00::1', remotePort: 80 }, '[fd00::1]:80'],
    ['{remote}', { remoteAddress: '10.0.0.9' }, '10.0.0.9'],
    ['{remote.port}', {}, ''],
    ['{header.X-User}', full, 'alice'],
    ['{header.x-user}', full, 'alice'],
    ['{http.request.header.X-User}', full, 'alice'],
    ['{header.X-Multi}', full, 'a, b'],
    ['{header.Set-Cookie}', full, 's=1, t=2'],
    ['{query.id}', full, '42'],
    ['{http.request.uri.query.id}', full, '42'],
    ['{query.q}', full, 'a b'],
    ['{query.enc}', full, '/'],
    ['{cookie.session}', full, 'abc123'],
    ['{http.request.cookie.theme}', full, 'dark'],
    ['{method}', full, 'POST'],
    ['{http.request.method}', full, 'POST'],
    ['{host}', full, 'Server.Test.hostmesh'],
    ['{http.request.host}', full, 'Server.Test.hostmesh'],
    ['{hostport}', full, 'Server.Test.hostmesh:8080'],
    ['{path}', full, '/api/café'],
    ['{http.request.uri.path}', full, '/api/café'],
    ['{query}', full, 'id=42&id=43&q=a+b&enc=%2F'],
    ['{http.request.uri.query}', full, 'id=42&id=43&q=a+b&enc=%2F'],
    ['{uri}', full, full.url],
    ['{http.request.uri}', full, full.url],
    ['{scheme}', full, 'https'],
    ['{http.request.scheme}', {}, 'http'],
    ['{proto}', full, 'HTTP/2.0'],
    ['{http.request.proto}', { httpVersion: '1.0' }, 'HTTP/1.0'],
  ]);
});

test('a missing header, query parameter or cookie is an empty string', () => {
  check([
    ['{header.X-None}', {}, ''],
    ['{query.none}', { url: '/?a=1' }, ''],
    ['{query.none}', { url: '/' }, ''],
    ['{cookie.none}', { headers: { cookie: 'a=1' } }, ''],
    ['{cookie.none}', {}, ''],
    ['user:{header.X-User}', {}, 'user:'],
    ['{query.flag}', { url: '/?flag' }, ''],
  ]);
});

test('templates mix literal text and placeholders; \\{ \\} \\\\ are literal', () => {
  check([
    ['user:{header.X-User}', full, 'user:alice'],
    ['{remote.ip}|{header.X-User}|{query.id}', full, '10.1.2.3|alice|42'],
    ['{method} {path}', full, 'POST /api/café'],
    ['global', full, 'global'],
    ['a\\{b\\}c\\\\d', full, 'a{b}c\\d'],
    ['{ remote.ip }', full, '10.1.2.3'],
    ['tenant-{header.X-Tenant}-{cookie.session}', { headers: { 'x-tenant': 't1', cookie: 'session=s' } }, 'tenant-t1-s'],
  ]);
});

test('key expressions: value functions, +, ? :, predicates as conditions', () => {
  check([
    ['header_value(\'X-User\')', full, 'alice'],
    ['query_value(\'id\')', full, '42'],
    ['cookie_value(\'session\')', full, 'abc123'],
    ['\'u:\' + header_value(\'X-User\')', full, 'u:alice'],
    ['{remote.ip} + \':\' + {method}', full, '10.1.2.3:POST'],
    ['header(\'X-User\') ? \'user:\' + header_value(\'X-User\') : \'ip:\' + {remote.ip}', full, 'user:alice'],
    ['header(\'X-User\') ? \'user:\' + header_value(\'X-User\') : \'ip:\' + {remote.ip}', { remoteAddress: '10.9.9.9' }, 'ip:10.9.9.9'],
    ['path(\'/api/*\') ? \'api\' : \'web\'', full, 'api'],
    ['remote_ip(\'10.0.0.0/8\') ? \'internal\' : {remote.ip}', { remoteAddress: '8.8.8.8' }, '8.8.8.8'],
    ['header_value(\'X-Tier\') == \'gold\' ? \'gold\' : \'rest\'', { headers: { 'x-tier': 'gold' } }, 'gold'],
    ['\'fixed\'', full, 'fixed'],
    ['(\'a\' + \'b\') + header_value(\'X-User\')', full, 'abalice'],
  ]);
});

test('templates and expressions are told apart by a parenthesis or quote outside {...}', () => {
  // A template would keep the text; an expression evaluates it.
  check([
    ['{header.X-User} + {method}', full, 'alice + POST'],
    ['{header.X-User}+{method}', full, 'alice+POST'],
    ['header_value', full, 'header_value'],
    ['true', full, 'true'],
  ]);
  for (const [source, code] of [
    ['user\'s-{remote.ip}', 'EXPR_SYNTAX'],
    ['header_value(\'X-User\'', 'EXPR_SYNTAX'],
    ['header(\'X-User\')', 'EXPR_NOT_STRING'],
    ['random() < 0.5 ? 1 : 2', 'EXPR_NOT_STRING'],
    ['\'a\' + 1', 'EXPR_OPERAND_TYPE'],
    ['NetworkErrorRatio() > 1 ? \'a\' : \'b\'', 'EXPR_WRONG_CONTEXT'],
    ['{remote.ipp}', 'EXPR_UNKNOWN_PLACEHOLDER'],
    ['user-{header.X', 'EXPR_SYNTAX'],
    ['user-}', 'EXPR_SYNTAX'],
    ['{}', 'EXPR_SYNTAX'],
    ['   ', 'EXPR_EMPTY'],
  ] as const) {
    const r = compileKey(source);
    assert.equal(r.ok ? 'ok' : r.error.code, code, source);
  }
});
