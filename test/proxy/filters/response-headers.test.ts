/**
 * `responseHeaders` filters (Gateway API ResponseHeaderModifier): the client sees the backend's
 * response with headers set, added (Set-Cookie as one more field) and removed, by the rule and
 * by the chosen backend; a retried attempt's head gets them too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from '../helpers.ts';
import { echoBackend, mesh } from '../rule-mesh.ts';

test('responseHeaders: set, add and remove on the response, rule first then the backend', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => echoBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  await m.apply({
    rules: [{
      matches: [{ path: { type: 'PathPrefix', value: '/r' } }],
      filters: [{ type: 'responseHeaders', set: [{ name: 'X-Backend', value: 'hidden' }], add: [{ name: 'Set-Cookie', value: 'flagger-cookie=canary; Max-Age=60' }, { name: 'X-Added', value: 'one' }], remove: ['X-Remove-Me'] }],
      backends: [{ cluster: 'test/a:80', weight: 1, filters: [{ type: 'responseHeaders', add: [{ name: 'X-Added', value: 'two' }] }] }],
    }],
  });
  const r = await get(m.http, `${m.url}/r`);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).name, 'a');
  assert.deepEqual(
    { backend: r.headers['x-backend'], cookie: r.headers['set-cookie'], added: r.headers['x-added'], removed: r.headers['x-remove-me'] },
    { backend: 'hidden', cookie: 'flagger-cookie=canary; Max-Age=60', added: 'one,two', removed: undefined },
  );
  const plain = await get(m.http, `${m.url}/other`);
  assert.deepEqual([plain.headers['x-backend'], plain.headers['x-remove-me'], plain.headers['set-cookie']], ['web', 'yes', undefined]);
});
