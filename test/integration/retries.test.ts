/**
 * Retries end to end through `hostmesh standalone`: Service annotations (canonical, Caddy Mesh
 * and Traefik Mesh forms) -> translation -> the proxy's retry stage -> real loopback backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { closeServer, client, freePort, get, httpBackend } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';

function drain(req: IncomingMessage): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.on('end', () => resolve(n));
    req.on('error', () => resolve(n));
  });
}

/** Runs `total` requests over `workers` concurrent loops; returns every status. */
async function load(total: number, workers: number, one: () => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < total) {
      next++;
      statuses.push(await one().catch(() => -1));
    }
  }));
  return statuses;
}

test('retries recover from a killed endpoint: no client errors while one of two backends goes away', async (t) => {
  const a = await httpBackend(t, (_req, res) => res.end('a'));
  const b = await httpBackend(t, (_req, res) => res.end('b'));
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [a.port, b.port], annotations: { 'hostmesh.io/retry-count': '2' } }) });
  const c = client(t);
  const url = `${mesh.url('test/web:80')}/`;
  const warm = await load(50, 5, async () => (await get(c, url)).status);
  assert.deepEqual(new Set(warm), new Set([200]));
  assert.ok(a.seen.length > 0 && b.seen.length > 0, 'both endpoints served');

  await closeServer(b.server);
  const after = await load(300, 10, async () => (await get(c, url)).status);
  assert.equal(after.filter((s) => s !== 200).length, 0, `statuses: ${[...new Set(after)]}`);
  assert.equal(after.length, 300);
});

test('a POST with a 1 MB body is not retried after it was sent: one attempt, the client sees the error', async (t) => {
  let attempts = 0;
  const cut = async (req: IncomingMessage, res: { socket: { destroy(): void } | null }) => {
    attempts++;
    await drain(req);
    res.socket?.destroy();
  };
  const a = await httpBackend(t, (req, res) => void cut(req, res));
  const b = await httpBackend(t, (req, res) => void cut(req, res));
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [a.port, b.port], annotations: { 'hostmesh.io/retry-count': '3' } }) });
  const r = await get(client(t), `${mesh.url('test/web:80')}/upload`, { method: 'POST', body: Buffer.alloc(1024 * 1024, 1) });
  assert.equal(r.status, 502);
  assert.equal(attempts, 1);
});

test('a retriable status on a GET is retried on the other endpoint', async (t) => {
  const busy = await httpBackend(t, (_req, res) => { res.statusCode = 503; res.end('busy'); });
  const fine = await httpBackend(t, (_req, res) => res.end('fine'));
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [busy.port, fine.port], annotations: { 'hostmesh.io/retry-count': '1', 'hostmesh.io/retry-codes': '503', 'hostmesh.io/load-balancer': 'round-robin', 'hostmesh.io/max-fails': '0' } }),
  });
  const c = client(t);
  for (let i = 0; i < 20; i++) {
    const r = await get(c, `${mesh.url('test/web:80')}/${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'fine');
  }
  assert.ok(busy.seen.length >= 5, `round robin tried the busy endpoint first ${busy.seen.length} times`);
  assert.equal(fine.seen.length, 20);
  for (const req of busy.seen) assert.ok(fine.seen.some((f) => f.url === req.url), `${req.url} was retried on the other endpoint`);
});

test('nothing is retried after the response head was sent: a backend that dies mid-body gets exactly one attempt', async (t) => {
  let attempts = 0;
  const dies = () => httpBackend(t, (_req, res) => {
    attempts++;
    res.writeHead(500, { 'content-length': '100000' });
    res.write('x'.repeat(100), () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const [a, b] = [await dies(), await dies()];
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [a.port, b.port], annotations: { 'hostmesh.io/retry-count': '3', 'hostmesh.io/retry-codes': '502' } }),
  });
  await assert.rejects(get(client(t), `${mesh.url('test/web:80')}/`));
  assert.equal(attempts, 1);
});

test('a retry storm respects request-timeout: every backend failing slowly gives the client 504 and few attempts', async (t) => {
  let attempts = 0;
  const slow = () => httpBackend(t, (_req, res) => {
    attempts++;
    setTimeout(() => { res.statusCode = 503; res.end('slow'); }, 100);
  });
  const [a, b] = [await slow(), await slow()];
  const mesh = await withStandalone(t, {
    'web.yaml': service('web', { ports: [a.port, b.port], annotations: { 'hostmesh.io/retry-count': '100', 'hostmesh.io/retry-codes': '5xx', 'hostmesh.io/request-timeout': '700ms' } }),
  });
  const c = client(t);
  const statuses = await Promise.all(Array.from({ length: 4 }, async () => (await get(c, `${mesh.url('test/web:80')}/`)).status));
  assert.deepEqual(statuses, [504, 504, 504, 504]);
  // 700 ms of 100 ms attempts plus backoff: a handful each, nowhere near 101.
  assert.ok(attempts >= 8 && attempts <= 4 * 7, `attempts ${attempts}`);
  const settled = attempts;
  await new Promise((resolve) => setTimeout(resolve, 300));
  // An attempt already on the wire when the 504 went out may still reach a backend (late, on a
  // loaded machine); retrying on after the answer would add several per request in 300 ms.
  assert.ok(attempts - settled <= 4, `${attempts - settled} attempts reached the backends after the answers`);
});

test('Caddy Mesh retry-count and Traefik Mesh retry-attempts work end to end', async (t) => {
  const ok = await httpBackend(t, (_req, res) => res.end('ok'));
  let resets = 0;
  const cut = await httpBackend(t, (_req, res) => { resets++; res.socket?.destroy(); });
  const dead = await freePort();
  const annotations = (a: Record<string, string>) => ({ 'hostmesh.io/load-balancer': 'round-robin', 'hostmesh.io/max-fails': '0', ...a });
  const mesh = await withStandalone(t, {
    'caddy.yaml': service('caddy', { ports: [ok.port, dead], annotations: annotations({ 'mesh.caddyserver.com/retry-count': '1' }) }),
    'traefik.yaml': service('traefik', { ports: [ok.port, dead], annotations: annotations({ 'mesh.traefik.io/retry-attempts': '2' }) }),
    'traefik-sent.yaml': service('traefik-sent', { ports: [ok.port, cut.port], annotations: annotations({ 'mesh.traefik.io/retry-attempts': '2' }) }),
    'caddy-sent.yaml': service('caddy-sent', { ports: [ok.port, cut.port], annotations: annotations({ 'mesh.caddyserver.com/retry-count': '1' }) }),
  });
  const c = client(t);
  const run = async (route: string) => (await load(10, 1, async () => (await get(c, `${mesh.url(route)}/`)).status)).toSorted();
  const tens = Array.from({ length: 10 }, () => 200);
  assert.deepEqual(await run('test/caddy:80'), tens, 'refused connects retried (Caddy)');
  assert.deepEqual(await run('test/traefik:80'), tens, 'refused connects retried (Traefik: attempts include the first)');
  assert.deepEqual(await run('test/caddy-sent:80'), tens, 'Caddy retries requests that reached the backend');
  const before = resets;
  const traefikSent = await run('test/traefik-sent:80');
  assert.equal(traefikSent.filter((s) => s === 502).length, resets - before, 'Traefik does not retry a request the backend received');
  assert.ok(resets - before >= 3);
});
