/**
 * `redirect` filters (Gateway API RequestRedirect): the proxy answers with the status and a
 * Location built as the Gateway API says (scheme, hostname, port with the default one left
 * out, path full or prefix-replaced, query kept) and contacts no backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteRule } from '../../../src/table/index.ts';
import { replacePath } from '../../../src/proxy/stages/filters/path.ts';
import { splitHost } from '../../../src/proxy/stages/filters/redirect.ts';
import { get } from '../helpers.ts';
import { echoBackend, mesh } from '../rule-mesh.ts';

test('path modifiers: full replacement, element-wise prefix replacement', () => {
  const prefix = (value: string, path: string, len: number) => replacePath({ type: 'ReplacePrefixMatch', value }, path, len);
  assert.equal(prefix('/xyz', '/foo/bar', 4), '/xyz/bar');
  assert.equal(prefix('/xyz/', '/foo/bar', 4), '/xyz/bar');
  assert.equal(prefix('/', '/foo/bar', 4), '/bar');
  assert.equal(prefix('/', '/foo', 4), '/');
  assert.equal(prefix('/xyz', '/foo', 4), '/xyz');
  assert.equal(prefix('/xyz', '/bar', 0), '/xyz/bar', 'a prefix of / matched nothing to replace');
  assert.equal(prefix('/xyz', '/bar', -1), '/bar', 'no prefix matched: unchanged');
  assert.equal(replacePath({ type: 'ReplaceFullPath', value: '/full' }, '/a/b', 2), '/full');
  assert.deepEqual([splitHost('echo'), splitHost('echo:8080'), splitHost('[fd00::1]:81'), splitHost('[fd00::1]'), splitHost('fd00::1')], [
    ['echo', undefined], ['echo', 8080], ['[fd00::1]', 81], ['[fd00::1]', undefined], ['fd00::1', undefined],
  ]);
});

test('redirect: status and Location per the Gateway API; no backend contacted', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => echoBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  const rule = (path: string, redirect: Omit<Extract<RouteRule['filters'], unknown[]>[number] & { type: 'redirect' }, 'type'>, prefix = true): RouteRule => ({
    matches: [{ path: { type: prefix ? 'PathPrefix' : 'Exact', value: path } }],
    filters: [{ type: 'redirect', ...redirect }],
    backends: [],
  });
  await m.apply({
    rules: [
      rule('/scheme', { scheme: 'https', statusCode: 301 }),
      rule('/host', { hostname: 'example.org', statusCode: 302 }),
      rule('/port', { port: 8083, statusCode: 303 }),
      rule('/full', { path: { type: 'ReplaceFullPath', value: '/new' }, statusCode: 307 }),
      rule('/prefix', { path: { type: 'ReplacePrefixMatch', value: '/replaced' }, statusCode: 308 }),
      rule('/everything', { scheme: 'https', hostname: 'example.org', port: 8443, path: { type: 'ReplaceFullPath', value: '/x' }, statusCode: 302 }),
      rule('/https80', { scheme: 'https', port: 443, statusCode: 302 }),
    ],
  });
  const cases: [string, string | undefined, number, string][] = [
    ['/scheme/a?q=1', 'echo', 301, 'https://echo/scheme/a?q=1'],
    ['/host/a', 'echo', 302, 'http://example.org/host/a'],
    ['/host/a', 'echo:8080', 302, 'http://example.org:8080/host/a'],
    ['/port/a', 'echo', 303, 'http://echo:8083/port/a'],
    ['/full/a?b=c', 'echo', 307, 'http://echo/new?b=c'],
    ['/prefix/a/b', 'echo', 308, 'http://echo/replaced/a/b'],
    ['/prefix', 'echo', 308, 'http://echo/replaced'],
    ['/everything', 'echo', 302, 'https://example.org:8443/x'],
    ['/https80', 'echo:80', 302, 'https://echo/https80'],
  ];
  for (const [path, host, status, location] of cases) {
    const r = await get(m.http, `${m.url}${path}`, { method: 'GET', headers: host === undefined ? {} : { host } });
    assert.deepEqual([r.status, r.headers.location, r.body], [status, location, ''], `${host} ${path}`);
  }
  assert.equal(web!.seen.length + a!.seen.length, 0);
});
