/**
 * `rewrite` filters (Gateway API URLRewrite): the backend gets the new Host header and path
 * (full, or the matched prefix replaced), the query kept; the client's Location-free answer is
 * the backend's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from '../helpers.ts';
import { echoBackend, mesh } from '../rule-mesh.ts';

test('rewrite: hostname becomes the Host header; path full or prefix, query kept', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => echoBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  await m.apply({
    rules: [
      { matches: [{ path: { type: 'PathPrefix', value: '/full' } }], filters: [{ type: 'rewrite', hostname: 'one.example', path: { type: 'ReplaceFullPath', value: '/one' } }], backends: [{ cluster: 'test/a:80', weight: 1 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/strip/' } }, { path: { type: 'PathPrefix', value: '/also' } }], filters: [{ type: 'rewrite', path: { type: 'ReplacePrefixMatch', value: '/' } }], backends: [{ cluster: 'test/a:80', weight: 1 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/backend' } }], backends: [{ cluster: 'test/a:80', weight: 1, filters: [{ type: 'rewrite', path: { type: 'ReplacePrefixMatch', value: '/v2' } }] }] },
    ],
  });
  const seen = async (path: string) => {
    const r = await get(m.http, `${m.url}${path}`, { method: 'GET', headers: { host: 'echo' } });
    const body = JSON.parse(r.body) as { name: string; url: string; headers: Record<string, string> };
    return `${body.name} ${body.headers.host} ${body.url}`;
  };
  assert.deepEqual(await Promise.all(['/full/x?q=1', '/strip/a/b?x=y', '/strip', '/also/c', '/backend/z?k', '/other?q'].map(seen)), [
    'a one.example /one?q=1',
    'a echo /a/b?x=y',
    'a echo /',
    'a echo /c',
    'a echo /v2/z?k',
    'web echo /other?q',
  ]);
});
