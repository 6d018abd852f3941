/**
 * `requestHeaders` filters (Gateway API RequestHeaderModifier) on a rule and on one backend of
 * it: the backend receives the set, appended and removed headers; the other backend of the
 * rule gets only the rule's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from '../helpers.ts';
import { echoBackend, mesh } from '../rule-mesh.ts';

test('requestHeaders: set, add (appended with a comma) and remove, on the rule and on one backend', async (t) => {
  const [web, a, b] = await Promise.all(['web', 'a', 'b'].map((n) => echoBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a!, b: b! });
  await m.apply({
    rules: [{
      matches: [{ path: { type: 'PathPrefix', value: '/h' } }],
      filters: [{ type: 'requestHeaders', set: [{ name: 'X-Set', value: 'set' }, { name: 'Host', value: 'rewritten.example' }], add: [{ name: 'X-Add', value: 'added' }], remove: ['X-Drop'] }],
      backends: [
        { cluster: 'test/a:80', weight: 1, filters: [{ type: 'requestHeaders', set: [{ name: 'X-Backend-Filter', value: 'a' }], remove: ['x-set'] }] },
        { cluster: 'test/b:80', weight: 1 },
      ],
    }],
  });
  const seen: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 4; i++) {
    const r = await get(m.http, `${m.url}/h`, { method: 'GET', headers: { 'x-set': 'client', 'x-add': 'client', 'x-drop': 'gone', 'x-keep': 'kept' } });
    const body = JSON.parse(r.body) as { name: string; headers: Record<string, string> };
    seen[body.name] = body.headers;
  }
  assert.deepEqual(Object.keys(seen).toSorted(), ['a', 'b'], 'both backends got their share');
  const pick = (h: Record<string, string>) => ({ set: h['x-set'], add: h['x-add'], drop: h['x-drop'], keep: h['x-keep'], host: h.host, filter: h['x-backend-filter'] });
  assert.deepEqual(pick(seen.b!), { set: 'set', add: 'client,added', drop: undefined, keep: 'kept', host: 'rewritten.example', filter: undefined });
  assert.deepEqual(pick(seen.a!), { set: undefined, add: 'client,added', drop: undefined, keep: 'kept', host: 'rewritten.example', filter: 'a' }, 'the backend\'s filters run after the rule\'s');
  // Requests the rule does not take are untouched.
  const other = JSON.parse((await get(m.http, `${m.url}/x`, { method: 'GET', headers: { 'x-drop': 'stays' } })).body) as { headers: Record<string, string> };
  assert.equal(other.headers['x-drop'], 'stays');
});
