/**
 * Rate limiting through `hostmesh standalone` with a real backend: annotations (canonical,
 * Caddy and Traefik forms) become limits, refusals carry their fields, and a flood of distinct
 * keys keeps the zone at its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { service, withStandalone } from '../support/standalone.ts';

async function metric(admin: string, re: RegExp): Promise<number | undefined> {
  const line = (await (await fetch(`${admin}/metrics`)).text()).split('\n').find((l) => re.test(l));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('standalone: a burst over the limit gets 429 with its fields; exactly burst requests pass', async (t) => {
  const web = await startDemoBackend({ name: 'web', version: 'v1' });
  t.after(() => web.close());
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [web.port], annotations: { 'hostmesh.io/rate-limit-rate': '1r/m', 'hostmesh.io/rate-limit-burst': '4' } }),
  });
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limited_total\{destination_namespace="test",destination_service="web",destination_port="80"\}/), 0, 'zero from the first scrape');
  const agent = new Agent();
  t.after(() => agent.close());
  const replies = [];
  for (let i = 0; i < 10; i++) {
    const r = await request(`${mesh.url('test/web:80')}/hello`, { dispatcher: agent });
    replies.push({ status: r.statusCode, headers: r.headers, body: await r.body.text() });
  }
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
  assert.equal(replies[0]!.body, 'web v1: GET /hello\n');
  assert.deepEqual(replies.map((r) => r.headers['ratelimit-remaining']), ['3', '2', '1', '0', '0', '0', '0', '0', '0', '0']);
  assert.ok(replies.every((r) => r.headers['ratelimit-limit'] === '4' && r.headers['ratelimit-policy'] === '"hostmesh";q=4;w=240'));
  assert.ok(replies.slice(4).every((r) => ['59', '60'].includes(String(r.headers['retry-after']))));
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limited_total\{/), 6);
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limit_keys\{/), 1);
});

test('standalone: Traefik and Caddy annotation forms; the key picks the bucket', async (t) => {
  const api = await startDemoBackend({ name: 'api', version: 'v1' });
  t.after(() => api.close());
  const mesh = await withStandalone(t, {
    'traefik.yaml': service('traefik', { ports: [api.port], annotations: { 'mesh.traefik.io/ratelimit-average': '1', 'mesh.traefik.io/ratelimit-burst': '2' } }),
    'caddy.yaml': service('caddy', { ports: [api.port], annotations: { 'mesh.caddyserver.com/rate-limit-rate': '2r/m', 'mesh.caddyserver.com/rate-limit-key': '{http.request.header.X-User}' } }),
  });
  const statuses = async (route: string, headers: Record<string, string>): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${mesh.url(route)}/`, { headers });
      await r.text();
      out.push(r.status);
    }
    return out;
  };
  // 1 r/s with a burst of 2: of five requests at once two pass, plus one per second they took.
  const t0 = performance.now();
  const traefik = await Promise.all(Array.from({ length: 5 }, async () => {
    const r = await fetch(`${mesh.url('test/traefik:80')}/`);
    await r.text();
    return r.status;
  }));
  const refills = Math.floor((performance.now() - t0) / 1000);
  const passed = traefik.filter((s) => s === 200).length;
  assert.ok(passed >= 2 && passed <= 2 + refills, `${passed} passed: ${traefik.join(',')}`);
  assert.equal(passed + traefik.filter((s) => s === 429).length, 5);
  assert.deepEqual(await statuses('test/caddy:80', { 'x-user': 'alice' }), [200, 200, 429], 'burst defaults to the rate\'s count');
  assert.deepEqual(await statuses('test/caddy:80', { 'x-user': 'bob' }), [200, 200, 429]);
});

test('standalone: a flood of distinct keys keeps the zone at its size and counts the evictions', async (t) => {
  const web = await startDemoBackend({ name: 'web', version: 'v1' });
  t.after(() => web.close());
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [web.port], annotations: { 'hostmesh.io/rate-limit-rate': '1r/m', 'hostmesh.io/rate-limit-burst': '5', 'hostmesh.io/rate-limit-key': '{header.X-Client}', 'hostmesh.io/rate-limit-zone-size': '50' } }),
  });
  const agent = new Agent({ connections: 16 });
  t.after(() => agent.close());
  const url = `${mesh.url('test/web:80')}/`;
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const r = await request(url, { dispatcher: agent, headers: { 'x-client': `client-${batch * 50 + i}` } });
      await r.body.dump();
      assert.equal(r.statusCode, 200, 'every new key starts with a full bucket');
    }));
  }
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limit_keys\{/), 50, '1,000 keys, the zone remembers 50');
  assert.equal(await metric(mesh.admin, /^hostmesh_rate_limit_evictions_total\{/), 950);
});
