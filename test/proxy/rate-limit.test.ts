/**
 * The rate-limit stage through a real engine, listener and backend: 429s with their fields,
 * keys, metrics, upgrades, and buckets that survive a table change that keeps the policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { LocalZones } from '../../src/proxy/ratelimit/zones.ts';
import type { RateLimitPolicy } from '../../src/table/index.ts';
import { client, engine, freePort, get, httpBackend, metricLines, metricValue, parseHead, rawExchange, svc, table } from './helpers.ts';

const perMinute = (burst: number, extra: Partial<RateLimitPolicy> = {}): RateLimitPolicy => ({ ratePerSecond: 1 / 60, burst, key: '{remote.ip}', zoneSize: 100, ...extra });

for (const kind of ['lru', 'shared'] as const) {
  test(`${kind} zones: a burst over the limit gets 429 with Retry-After and RateLimit fields; exactly burst pass`, async (t) => {
    const b = await httpBackend(t, (_req, res) => res.end('ok'));
    const e = engine(t, { rateLimits: new LocalZones(kind) });
    const port = await freePort();
    const r = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(5) } }]));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.warnings, [], 'rate limits are enforced, not warned about');
    assert.deepEqual(await metricLines(e, /^hostmesh_rate_limited_total/), ['hostmesh_rate_limited_total{destination_namespace="test",destination_service="web",destination_port="80"} 0']);
    const c = client(t);
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await get(c, `http://127.0.0.1:${port}/`));
    assert.deepEqual(replies.map((x) => x.status), [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.equal(b.seen.length, 5, 'refused requests never reach the backend');
    assert.deepEqual(replies.slice(0, 5).map((x) => x.headers['ratelimit-remaining']), ['4', '3', '2', '1', '0']);
    const ok = replies[0]!.headers;
    assert.equal(ok['ratelimit-limit'], '5');
    assert.equal(ok['ratelimit-policy'], '"hostmesh";q=5;w=300');
    assert.match(String(ok['ratelimit-reset']), /^(59|60)$/, 'one token spent: full again in a minute');
    assert.equal(ok['ratelimit'], `"hostmesh";r=4;t=${ok['ratelimit-reset']}`);
    const refused = replies[5]!;
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(refused.headers['ratelimit-limit'], '5');
    assert.match(String(refused.headers['retry-after']), /^(59|60)$/, 'the next token comes in a minute');
    assert.match(String(refused.headers['ratelimit-reset']), /^(299|300)$/, 'five tokens: full in five minutes');
    assert.equal(refused.headers['cache-control'], 'no-store');
    assert.match(refused.body, /^429 Too Many Requests: test\/web:80 is rate limited \(5 requests at once, 1 per minute\); retry in (59|60) s\n$/);
    assert.equal(await metricValue(e, /^hostmesh_rate_limited_total\{/), 3);
    assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*code="429"/), 3);
    const json = await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { accept: 'application/json' } });
    assert.equal(json.status, 429);
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(JSON.parse(json.body)), ['status', 'error', 'service', 'reason', 'retryAfter']);
  });
}

test('the key expression picks the bucket: one per X-User header value', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  assert.ok((await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(2, { key: "header('X-User') ? 'user:' + header_value('X-User') : 'anonymous'" }) } }]))).ok);
  const c = client(t);
  const statuses = async (user: string | undefined): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push((await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: user ? { 'x-user': user } : {} })).status);
    return out;
  };
  assert.deepEqual(await statuses('alice'), [200, 200, 429]);
  assert.deepEqual(await statuses('bob'), [200, 200, 429]);
  assert.deepEqual(await statuses(undefined), [200, 200, 429]);
  assert.deepEqual(await statuses('alice'), [429, 429, 429]);
});

test('a key the proxy cannot compile limits by client address instead of refusing the table', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  const r = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(1, { key: "header_value('X-User'" }) } }]));
  assert.ok(r.ok);
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`, { method: 'GET', headers: { 'x-user': 'other' } })).status, 429);
});

test('buckets survive a table change that keeps the policy, and restart when the policy changes', async (t) => {
  const b1 = await httpBackend(t, (_req, res) => res.end('one'));
  const b2 = await httpBackend(t, (_req, res) => res.end('two'));
  const e = engine(t);
  const port = await freePort();
  const limited = { rateLimit: perMinute(2) };
  assert.ok((await e.apply(table([{ cluster: svc('web', [b1.port]), listenPort: port, route: limited }], 1))).ok);
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 429);
  // New endpoints rebuild the route; the zone is the same.
  assert.ok((await e.apply(table([{ cluster: svc('web', [b2.port]), listenPort: port, route: limited }], 2))).ok);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 429);
  // A larger burst is a new policy: a fresh bucket.
  assert.ok((await e.apply(table([{ cluster: svc('web', [b2.port]), listenPort: port, route: { rateLimit: perMinute(3) } }], 3))).ok);
  const after = [];
  for (let i = 0; i < 4; i++) after.push((await get(c, `http://127.0.0.1:${port}/`)).status);
  assert.deepEqual(after, [200, 200, 200, 429]);
  assert.equal(await metricValue(e, /^hostmesh_rate_limited_total\{/), 3, 'the counter is per route, kept across applies');
  // Without a limit the series goes away.
  assert.ok((await e.apply(table([{ cluster: svc('web', [b2.port]), listenPort: port }], 4))).ok);
  assert.deepEqual(await metricLines(e, /^hostmesh_rate_limited_total/), []);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).headers['ratelimit-limit'], undefined);
});

test('upgrade requests count too; a refused one gets a raw 429 and a closed connection', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  assert.ok((await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(1) } }]))).ok);
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  const raw = await rawExchange(port, 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
  const head = parseHead(raw);
  assert.equal(head.status, 429);
  assert.equal(head.headers.get('ratelimit-remaining'), '0');
  assert.equal(head.headers.get('connection'), 'close');
  assert.match(head.body, /rate limited/);
});

test('a refused POST with an unread body closes its connection; HEAD gets no body', async (t) => {
  const b = await httpBackend(t, (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const e = engine(t);
  const port = await freePort();
  assert.ok((await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(1) } }]))).ok);
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${port}/`)).status, 200);
  const head = await get(c, `http://127.0.0.1:${port}/`, { method: 'HEAD' });
  assert.equal(head.status, 429);
  assert.equal(head.body, '');
  const raw = await rawExchange(port, 'POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\nabc');
  const post = parseHead(raw);
  assert.equal(post.status, 429);
  assert.equal(post.headers.get('connection'), 'close');
});

test('with cookie affinity both the rate-limit fields and the affinity cookie are sent', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  assert.ok((await e.apply(table([{ cluster: svc('web', [b.port], { loadBalancer: { kind: 'cookie', cookie: 'pin' } }), listenPort: port, route: { rateLimit: perMinute(3) } }]))).ok);
  const r = await get(client(t), `http://127.0.0.1:${port}/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['ratelimit-remaining'], '2');
  assert.match(String(r.headers['set-cookie']), /^pin=/);
});

test('h2c clients get the fields and the 429 too', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('ok'));
  const e = engine(t);
  const port = await freePort();
  assert.ok((await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { rateLimit: perMinute(1) } }]))).ok);
  const session = connect(`http://127.0.0.1:${port}`);
  t.after(() => session.close());
  const ask = (): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    const s = session.request({ ':path': '/' });
    s.on('response', (h) => {
      s.resume();
      s.on('end', () => resolve(h));
    });
    s.on('error', reject);
    s.end();
  });
  const first = await ask();
  assert.equal(first[':status'], 200);
  assert.equal(first['ratelimit-remaining'], '0');
  const second = await ask();
  assert.equal(second[':status'], 429);
  assert.match(String(second['retry-after']), /^(59|60)$/);
});
