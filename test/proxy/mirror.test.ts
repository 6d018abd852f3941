/** The mirror stage through a real engine: copies land on a second Service, never in the way. */
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { RouteEntry } from '../../src/table/index.ts';
import type { ProxyLimits } from '../../src/proxy/limits.ts';
import { client, engine, freePort, get, httpBackend, metricValue, svc, table, LOOPBACK } from './helpers.ts';
import { until } from '../support/until.ts';



/** `test/web` on `primaryPort`, mirroring to `test/shadow` on `mirrorPort`. */
async function mirrored(t: TestContext, primaryPort: number, mirrorPort: number, route: Partial<RouteEntry> = {}, limits: Partial<ProxyLimits> = {}) {
  const [port, shadowListen] = [await freePort(), await freePort()];
  const e = engine(t, { limits });
  const r = await e.apply(table([
    { cluster: svc('web', [primaryPort]), listenPort: port, route: { mirror: { cluster: 'test/shadow:80', percent: 100 }, ...route } },
    { cluster: svc('shadow', [mirrorPort]), listenPort: shadowListen },
  ]));
  assert.equal(r.ok, true, JSON.stringify(r));
  if (r.ok) assert.deepEqual(r.warnings, []);
  const count = (result: string) => metricValue(e, new RegExp(`^hostmesh_mirror_requests_total\\{destination_namespace="test",destination_service="web",destination_port="80",backend="shadow",result="${result}"\\}`));
  return { e, url: `http://${LOOPBACK}:${port}`, count };
}

test('a mirrored request reaches the mirror with the same method, path, headers and body; the client sees the primary', async (t) => {
  const primary = await httpBackend(t, (req, res) => void buffer(req).then((b) => res.end(`primary ${b.length}`)));
  const copies: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const shadow = await httpBackend(t, (req, res) => void buffer(req).then((b) => {
    copies.push({ method: req.method!, url: req.url!, headers: req.headers, body: b.toString() });
    res.statusCode = 500;
    res.end('shadow answer, never seen');
  }));
  const { url, count } = await mirrored(t, primary.port, shadow.port);
  assert.equal(await count('sent'), 0, 'series exist before the first copy');
  assert.equal(await count('dropped'), 0);
  assert.equal(await count('failed'), 0);
  const c = client(t);
  const r = await get(c, `${url}/orders?id=7`, { method: 'POST', body: 'hello mirror', headers: { 'x-user': 'ann', 'content-type': 'text/plain' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'primary 12');
  const g = await get(c, `${url}/plain`);
  assert.equal(g.body, 'primary 0');
  await until('two copies sent', async () => (await count('sent')) === 2, 5000);
  assert.equal(copies.length, 2);
  const post = copies.find((x) => x.method === 'POST')!;
  assert.equal(post.url, '/orders?id=7');
  assert.equal(post.body, 'hello mirror');
  assert.equal(post.headers['x-user'], 'ann');
  assert.equal(post.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(primary.seen[0]!.headers['x-user'], 'ann');
  assert.equal(copies.find((x) => x.method === 'GET')!.url, '/plain');
});

test('a body over the replay limit goes to the primary whole and is not mirrored (dropped)', async (t) => {
  const primary = await httpBackend(t, (req, res) => void buffer(req).then((b) => res.end(String(b.length))));
  const shadow = await httpBackend(t, (_req, res) => res.end());
  const { url, count } = await mirrored(t, primary.port, shadow.port, {}, { replayBodyBytes: 1000 });
  const c = client(t);
  assert.equal((await get(c, url, { method: 'PUT', body: Buffer.alloc(5000) })).body, '5000');
  assert.equal((await get(c, url, { method: 'PUT', body: Buffer.alloc(900) })).body, '900');
  await until('the small body mirrored', async () => (await count('sent')) === 1, 5000);
  assert.equal(await count('dropped'), 1);
  assert.equal(shadow.seen.length, 1);
});

test('a chunked body is copied while it streams to the primary; the mirror gets it once it ended', async (t) => {
  const primary = await httpBackend(t, (req, res) => void buffer(req).then((b) => res.end(String(b.length))));
  const bodies: string[] = [];
  const shadow = await httpBackend(t, (req, res) => void buffer(req).then((b) => {
    bodies.push(b.toString());
    res.end();
  }));
  const { url, count } = await mirrored(t, primary.port, shadow.port, {}, { replayBodyBytes: 1000 });
  const c = client(t);
  assert.equal((await get(c, url, { method: 'POST', body: Readable.from(['part one, ', 'part two']) })).body, '18');
  assert.equal((await get(c, url, { method: 'POST', body: Readable.from([Buffer.alloc(800), Buffer.alloc(800)]) })).body, '1600');
  await until('one copy sent, the large one dropped', async () => (await count('sent')) === 1 && (await count('dropped')) === 1, 5000);
  assert.deepEqual(bodies, ['part one, part two']);
});

test('a dead mirror counts failures and never fails the client', async (t) => {
  const primary = await httpBackend(t, (_req, res) => res.end('ok'));
  const dead = await freePort();
  const { url, count } = await mirrored(t, primary.port, dead);
  const c = client(t);
  for (let i = 0; i < 20; i++) assert.equal((await get(c, url)).body, 'ok');
  await until('every copy accounted for', async () => ((await count('failed')) ?? 0) + ((await count('dropped')) ?? 0) === 20, 5000);
  assert.ok((await count('failed'))! >= 1);
  assert.equal(await count('sent'), 0);
});

test('a hanging mirror holds at most mirrorMaxInFlight copies; the rest are dropped; clients are not slowed', async (t) => {
  const primary = await httpBackend(t, (_req, res) => res.end('ok'));
  const hanging = await httpBackend(t, () => {});
  const { url, count } = await mirrored(t, primary.port, hanging.port, {}, { mirrorMaxInFlight: 8, mirrorTimeoutMs: 60_000 });
  const c = client(t);
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let i = 0; i < 10; i++) assert.equal((await get(c, url)).body, 'ok');
  }));
  await until('eight copies arrive', () => hanging.seen.length === 8, 5000);
  assert.equal(await count('dropped'), 92);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(hanging.seen.length, 8, 'never more than the bound');
});

test('a copy that takes longer than mirrorTimeoutMs is abandoned and frees its slot', async (t) => {
  const primary = await httpBackend(t, (_req, res) => res.end('ok'));
  const hanging = await httpBackend(t, () => {});
  const { url, count } = await mirrored(t, primary.port, hanging.port, {}, { mirrorMaxInFlight: 1, mirrorTimeoutMs: 100 });
  const c = client(t);
  assert.equal((await get(c, url)).body, 'ok');
  await until('the copy times out', async () => (await count('failed')) === 1, 5000);
  assert.equal((await get(c, url)).body, 'ok');
  await until('the slot is free again', () => hanging.seen.length === 2, 5000);
  assert.equal(await count('dropped'), 0);
});

test('mirror-percent samples requests', async (t) => {
  const primary = await httpBackend(t, (_req, res) => res.end('ok'));
  const shadow = await httpBackend(t, (_req, res) => res.end());
  const { url, count } = await mirrored(t, primary.port, shadow.port, { mirror: { cluster: 'test/shadow:80', percent: 25 } });
  const c = client(t);
  for (let i = 0; i < 400; i++) await get(c, url);
  await until('copies in flight land', async () => (await count('sent')) === shadow.seen.length, 5000);
  // 100 expected; 6 standard deviations either way.
  const sent = (await count('sent'))!;
  assert.ok(sent >= 48 && sent <= 152, `sent ${sent}`);
  assert.equal(shadow.seen.length, sent);
});
