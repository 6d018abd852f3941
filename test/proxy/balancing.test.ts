import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { client, engine, freePort, get, httpBackend, namedBackend, svc, table } from './helpers.ts';
import { cluster, route } from '../support/tables.ts';
import { TABLE_FORMAT } from '../../src/table/index.ts';
import type { LoadBalancer, RoutingTable } from '../../src/table/index.ts';

async function three(t: Parameters<typeof namedBackend>[0]) {
  return Promise.all(['a', 'b', 'c'].map((n) => namedBackend(t, n)));
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function served(t: Parameters<typeof namedBackend>[0], lb: LoadBalancer) {
  const backends = await three(t);
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', backends.map((b) => b.port), { loadBalancer: lb }), listenPort: port }]));
  return { port, e, c: client(t), url: `http://127.0.0.1:${port}/` };
}

test('round-robin: exactly even over whole turns', async (t) => {
  const { c, url } = await served(t, { kind: 'round-robin' });
  const names: string[] = [];
  for (let i = 0; i < 150; i++) names.push((await get(c, url)).body);
  assert.deepEqual(tally(names), { a: 50, b: 50, c: 50 });
});

test('random: every endpoint gets a fair share', async (t) => {
  const { c, url } = await served(t, { kind: 'random' });
  const names: string[] = [];
  for (let i = 0; i < 300; i++) names.push((await get(c, url)).body);
  for (const [n, k] of Object.entries(tally(names))) assert.ok(k > 55 && k < 145, `${n}: ${k}`);
  assert.equal(Object.keys(tally(names)).length, 3);
});

test('least-request: requests held open spread evenly by in-flight count', async (t) => {
  const held: { name: string; res: ServerResponse }[] = [];
  let arrived: (() => void) | undefined;
  const backends = await Promise.all(['a', 'b', 'c'].map((name) => httpBackend(t, (_req, res) => {
    held.push({ name, res });
    arrived?.();
  })));
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('web', backends.map((b) => b.port)), listenPort: port }]));
  const c = client(t, { connections: 64 });
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    const reached = new Promise<void>((resolve) => { arrived = resolve; });
    pending.push(get(c, `http://127.0.0.1:${port}/`));
    await reached; // the next request is picked knowing where this one went
  }
  const loads = Object.values(tally(held.map((h) => h.name)));
  assert.equal(loads.length, 3);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 3, `in-flight per endpoint ${loads}`);
  for (const h of held) h.res.end('done');
  await Promise.all(pending);
});

test('cookie affinity: the proxy sets an opaque cookie and honours it', async (t) => {
  const { c, url } = await served(t, { kind: 'cookie', cookie: 'hm-aff' });
  const first = await get(c, url);
  const setCookie = String(first.headers['set-cookie']);
  const m = /^hm-aff=([A-Za-z0-9_-]+); Path=\/; HttpOnly; SameSite=Lax$/.exec(setCookie);
  assert.ok(m, setCookie);
  assert.ok(!setCookie.includes('127.0.0.1'));
  for (let i = 0; i < 10; i++) {
    const r = await get(c, url, { method: 'GET', headers: { cookie: `other=1; hm-aff=${m[1]}` } });
    assert.equal(r.body, first.body);
    assert.equal(r.headers['set-cookie'], undefined, 'a valid cookie is not set again');
  }
  const stale = await get(c, url, { method: 'GET', headers: { cookie: 'hm-aff=gone' } });
  assert.match(String(stale.headers['set-cookie']), /^hm-aff=[A-Za-z0-9_-]+;/);
});

test('header affinity: one header value, one endpoint; values spread', async (t) => {
  const { c, url } = await served(t, { kind: 'header', header: 'X-User' });
  const owner = new Map<string, string>();
  for (let u = 0; u < 30; u++) {
    for (let i = 0; i < 3; i++) {
      const r = await get(c, url, { method: 'GET', headers: { 'x-user': `user-${u}` } });
      if (owner.has(`user-${u}`)) assert.equal(r.body, owner.get(`user-${u}`));
      else owner.set(`user-${u}`, r.body);
    }
  }
  assert.ok(new Set(owner.values()).size >= 2, 'users spread over endpoints');
  assert.equal((await get(c, url)).status, 200, 'no header: least-request');
});

test('route weights split requests exactly (smooth weighted round robin); weight 0 gets nothing', async (t) => {
  const [v1, v2, v3] = await Promise.all(['v1', 'v2', 'v3'].map((n) => namedBackend(t, n)));
  const port = await freePort();
  const clusters = [cluster('test', 'web-v1', 80, [{ address: '127.0.0.1', port: v1!.port }]), cluster('test', 'web-v2', 80, [{ address: '127.0.0.1', port: v2!.port }]), cluster('test', 'web-v3', 80, [{ address: '127.0.0.1', port: v3!.port }])];
  const t1: RoutingTable = {
    format: TABLE_FORMAT, epoch: 'test', version: 1, generatedAt: new Date().toISOString(), dns: { zones: ['hostmesh'], ttl: 5, services: [] },
    clusters,
    routes: [route('test', 'web', 80, { backends: [{ cluster: 'test/web-v1:80', weight: 3 }, { cluster: 'test/web-v2:80', weight: 1 }, { cluster: 'test/web-v3:80', weight: 0 }] })],
    listeners: [{ port, protocol: 'http', route: 'test/web:80' }],
  };
  const e = engine(t);
  assert.equal((await e.apply(t1)).ok, true);
  const c = client(t);
  const names: string[] = [];
  for (let i = 0; i < 40; i++) names.push((await get(c, `http://127.0.0.1:${port}/`)).body);
  assert.deepEqual(tally(names), { v1: 30, v2: 10 });

  // A backend without endpoints is passed over while another has some.
  const t2 = structuredClone(t1);
  t2.version = 2;
  t2.clusters[1]!.endpoints = [];
  assert.equal((await e.apply(t2)).ok, true);
  for (let i = 0; i < 8; i++) assert.equal((await get(c, `http://127.0.0.1:${port}/`)).body, 'v1');
  const split = (await e.registry.metrics()).split('\n').filter((l) => l.startsWith('hostmesh_requests_total{') && l.includes('destination_service="web"'));
  assert.ok(split.some((l) => l.includes('backend="web-v1"') && l.endsWith(' 38')), split.join('\n'));
  assert.ok(split.some((l) => l.includes('backend="web-v2"') && l.endsWith(' 10')), split.join('\n'));
});
