/**
 * `cors` filters (Gateway API CORS): preflights answered by the proxy (allow headers only for
 * allowed origins, wildcard hosts included), actual requests from allowed origins get
 * Access-Control-Allow-Origin on the backend's response.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from '../helpers.ts';
import { echoBackend, mesh } from '../rule-mesh.ts';

test('cors: preflight answered with the allow headers, actual requests get the allow origin', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => echoBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  await m.apply({
    rules: [{
      filters: [{ type: 'cors', allowOrigins: ['https://*.example.com', 'http://localhost:8080'], allowMethods: ['GET', 'PUT'], allowHeaders: ['*'], exposeHeaders: ['X-Backend'], allowCredentials: true, maxAgeSeconds: 600 }],
      backends: [{ cluster: 'test/a:80', weight: 1 }],
    }],
  });
  const preflight = (origin: string) => get(m.http, `${m.url}/p`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token, content-type' } });
  const ok = await preflight('https://app.eu.example.com');
  assert.equal(ok.status, 200);
  assert.deepEqual(
    ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-allow-credentials', 'access-control-max-age'].map((h) => ok.headers[h]),
    ['https://app.eu.example.com', 'GET, PUT', 'x-token, content-type', 'true', '600'],
  );
  for (const origin of ['https://example.com', 'http://app.example.com', 'https://evil.com', 'http://localhost:8081']) {
    const no = await preflight(origin);
    assert.deepEqual([no.status, no.headers['access-control-allow-origin']], [200, undefined], origin);
  }
  assert.equal(a!.seen.length, 0, 'preflights never reach the backend');
  const actual = await get(m.http, `${m.url}/x`, { method: 'GET', headers: { origin: 'http://localhost:8080' } });
  assert.deepEqual([actual.status, actual.headers['access-control-allow-origin'], actual.headers['access-control-allow-credentials'], actual.headers['access-control-expose-headers']], [200, 'http://localhost:8080', 'true', 'X-Backend']);
  const denied = await get(m.http, `${m.url}/x`, { method: 'GET', headers: { origin: 'https://evil.com' } });
  assert.deepEqual([denied.status, denied.headers['access-control-allow-origin']], [200, undefined]);
  // An OPTIONS without Access-Control-Request-Method is no preflight: it goes to the backend.
  assert.equal(JSON.parse((await get(m.http, `${m.url}/x`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8080' } })).body).method, 'OPTIONS');
});
