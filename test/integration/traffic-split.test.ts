/**
 * Issue 4 part B end to end: `hostmesh standalone` over live-edited manifests with real
 * backends on loopback. Expression splits (the Caddy Mesh workflow), weights, the sticky
 * cookie (pinning, fallback, forgery), the access log and trace context.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stickyToken } from '../../src/proxy/stages/backend-choice/sticky.ts';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import type { Reply } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import type { Agent } from 'undici';

/** A backend answering with its version and the trace headers it received, as JSON. */
async function versionBackend(t: TestContext, version: string): Promise<number> {
  const b = await httpBackend(t, (req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version, traceparent: req.headers.traceparent ?? null, tracestate: req.headers.tracestate ?? null }));
  });
  return b.port;
}

interface Seen {
  version: string;
  traceparent: string | null;
  tracestate: string | null;
}

async function call(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Reply & { seen: Seen }> {
  const r = await get(agent, url, { method: 'GET', headers });
  assert.equal(r.status, 200, r.body);
  return { ...r, seen: JSON.parse(r.body) as Seen };
}

/** Sends `n` requests, `parallel` at a time, and counts the versions that answered. */
async function countVersions(agent: Agent, url: string, n: number, headers: Record<string, string> = {}, parallel = 20): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let sent = 0; sent < n; sent += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - sent) }, () => call(agent, url, headers));
    for (const r of await Promise.all(batch)) counts.set(r.seen.version, (counts.get(r.seen.version) ?? 0) + 1);
  }
  return counts;
}

/** The `name=value` part of a response's Set-Cookie for `name`, if it sets one. */
function setCookie(r: Reply, name: string): string | undefined {
  const raw = r.headers['set-cookie'];
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return all.find((c) => c.startsWith(`${name}=`));
}

function cookiePair(setCookieValue: string): string {
  return setCookieValue.slice(0, setCookieValue.indexOf(';'));
}

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';

test('the Caddy Mesh README workflow, annotations unchanged, edited live: false, Chrome only, true', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const caddySplit = (expression: string) => service('server', {
    ports: [v1],
    annotations: {
      'mesh.caddyserver.com/traffic-split-expression': expression,
      'mesh.caddyserver.com/traffic-split-new-service': 'server-v2',
      'mesh.caddyserver.com/traffic-split-old-service': 'server-v1',
    },
  });
  const mesh = await withStandalone(t, {
    'server.yaml': caddySplit('false'),
    'server-v1.yaml': service('server-v1', { ports: [v1] }),
    'server-v2.yaml': service('server-v2', { ports: [v2] }),
  });
  const agent = client(t);
  const url = `${mesh.url('test/server:80')}/api`;
  const round = async () => ({
    chrome: Object.fromEntries(await countVersions(agent, url, 40, { 'user-agent': CHROME })),
    firefox: Object.fromEntries(await countVersions(agent, url, 40, { 'user-agent': FIREFOX })),
  });

  assert.deepEqual(await round(), { chrome: { v1: 40 }, firefox: { v1: 40 } }, '"false": everything stays on v1');

  await mesh.write('server.yaml', caddySplit("header({'User-Agent': '*Chrome*'})"));
  assert.deepEqual(await round(), { chrome: { v2: 40 }, firefox: { v1: 40 } }, 'Chrome users move to v2');

  await mesh.write('server.yaml', caddySplit('true'));
  assert.deepEqual(await round(), { chrome: { v2: 40 }, firefox: { v2: 40 } }, '"true": everything on v2');

  // The routing table was applied without "not enforced" warnings: the rule is live.
  const diagnostics = mesh.mesh.diagnostics().filter((d) => d.severity !== 'info');
  assert.deepEqual(diagnostics, []);
});

test('weights 1:2 over 3,000 requests; a weight of 0 gets nothing', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const v3 = await versionBackend(t, 'v3');
  const mesh = await withStandalone(t, {
    'server.yaml': service('server', { annotations: { 'hostmesh.io/traffic-split-weights': 'server-v1=1,server-v2=2,server-v3=0' } }),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
    'v3.yaml': service('server-v3', { ports: [v3] }),
  });
  const counts = await countVersions(client(t), mesh.url('test/server:80'), 3000, {}, 30);
  const n1 = counts.get('v1') ?? 0;
  const n2 = counts.get('v2') ?? 0;
  assert.equal(n1 + n2, 3000, `only v1 and v2 answer: ${JSON.stringify(Object.fromEntries(counts))}`);
  assert.equal(counts.get('v3'), undefined, 'weight 0 gets nothing');
  assert.ok(Math.abs(n2 / n1 - 2) <= 0.1, `v2:v1 is 2 within 5%: ${n2}:${n1}`);
});

test('sticky cookie: pins, falls back with a new cookie when the backend loses its endpoints', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const front = (annotations: Record<string, string> = {}) => service('server', {
    annotations: { 'hostmesh.io/traffic-split-weights': 'server-v1=1,server-v2=1', 'hostmesh.io/sticky-cookie': 'hm-version', ...annotations },
  });
  const mesh = await withStandalone(t, {
    'server.yaml': front(),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
  });
  const agent = client(t);
  const url = mesh.url('test/server:80');

  const first = await call(agent, url);
  const cookie = setCookie(first, 'hm-version');
  assert.ok(cookie, 'the first response sets the cookie');
  assert.match(cookie, /^hm-version=[\w-]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.ok(!cookie.includes('server-v'), 'the value is opaque');
  const pinned = first.seen.version;
  const other = pinned === 'v1' ? 'v2' : 'v1';

  const withCookie = { cookie: `theme=dark; ${cookiePair(cookie)}` };
  let again = 0;
  for (let i = 0; i < 100; i++) {
    const r = await call(agent, url, withCookie);
    assert.equal(r.seen.version, pinned, `request ${i} stays on ${pinned}`);
    if (setCookie(r, 'hm-version') !== undefined) again++;
  }
  assert.equal(again, 0, 'a valid cookie is not set again');
  // Without the cookie, clients are still spread by weight.
  assert.deepEqual(Object.fromEntries(await countVersions(agent, url, 20, {}, 1)), { v1: 10, v2: 10 });

  // The pinned version loses its endpoints: the client moves and gets a new cookie.
  await mesh.write(`${pinned}.yaml`, service(`server-${pinned}`, { ports: [] }));
  const moved = await call(agent, url, withCookie);
  assert.equal(moved.seen.version, other);
  const renewed = setCookie(moved, 'hm-version');
  assert.ok(renewed !== undefined && renewed !== cookie, 'a new cookie names the new backend');
  const after = await call(agent, url, { cookie: cookiePair(renewed) });
  assert.equal(after.seen.version, other);
  assert.equal(setCookie(after, 'hm-version'), undefined);
});

test('sticky cookie: forged values never escape the candidates of the request', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const elsewhere = await versionBackend(t, 'elsewhere');
  const sticky = { 'hostmesh.io/sticky-cookie': 'hm-sticky' };
  const mesh = await withStandalone(t, {
    // Chrome users go to v2, everyone else to v1; the cookie pins within each of those sets.
    'server.yaml': service('server', {
      annotations: {
        ...sticky,
        'hostmesh.io/traffic-split-expression': "header({'User-Agent': '*Chrome*'})",
        'hostmesh.io/traffic-split-new-service': 'server-v2',
        'hostmesh.io/traffic-split-old-service': 'server-v1',
      },
    }),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
    'other.yaml': service('other', { ports: [elsewhere], annotations: sticky }),
  });
  const agent = client(t);
  const url = mesh.url('test/server:80');
  const firefox = (cookie: string) => call(agent, url, { 'user-agent': FIREFOX, cookie });

  // A cookie naming v2 (earned as a Chrome user) does not take a Firefox request to v2.
  const chrome = await call(agent, url, { 'user-agent': CHROME });
  assert.equal(chrome.seen.version, 'v2');
  const v2Cookie = cookiePair(setCookie(chrome, 'hm-sticky')!);
  const outside = await firefox(v2Cookie);
  assert.equal(outside.seen.version, 'v1');
  assert.ok(setCookie(outside, 'hm-sticky') !== undefined, 'the cookie is replaced');

  // A valid cookie of another route (same name) means nothing here.
  const otherRoute = await call(agent, mesh.url('test/other:80'));
  assert.equal(otherRoute.seen.version, 'elsewhere');
  const foreign = await firefox(cookiePair(setCookie(otherRoute, 'hm-sticky')!));
  assert.equal(foreign.seen.version, 'v1');
  assert.ok(setCookie(foreign, 'hm-sticky') !== undefined);

  // A well-made value for a cluster this route does not split to, and random values.
  const madeUp = stickyToken('hostmesh', 'test/server:80', 'test/other:80');
  for (const value of [madeUp, 'AAAAAAAAAAAAAAAA', 'x'.repeat(300), '', '"quoted"']) {
    const r = await firefox(`hm-sticky=${value}`);
    assert.equal(r.seen.version, 'v1', `cookie ${value.slice(0, 20)}`);
    assert.ok(setCookie(r, 'hm-sticky') !== undefined);
  }
  // Its own cookie still works, in its own set.
  const v1Cookie = cookiePair(setCookie(outside, 'hm-sticky')!);
  const kept = await firefox(v1Cookie);
  assert.equal(kept.seen.version, 'v1');
  assert.equal(setCookie(kept, 'hm-sticky'), undefined);
});

test('access log lines and trace context through standalone', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const chunks: string[] = [];
  const mesh = await withStandalone(t, {
    'server.yaml': service('server', { ports: [v1] }),
    'empty.yaml': service('empty'),
  }, { accessLog: { write: (chunk: string) => chunks.push(chunk) } });
  const agent = client(t);
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  const passed = await call(agent, `${mesh.url('test/server:80')}/a/b?secret=1`, { traceparent: incoming, tracestate: 'vendor=x', 'user-agent': 'probe/1' });
  assert.equal(passed.seen.traceparent, incoming, 'a valid traceparent passes unchanged');
  assert.equal(passed.seen.tracestate, 'vendor=x');

  const started = await call(agent, `${mesh.url('test/server:80')}/c`, { traceparent: '00-zz-bad-01', tracestate: 'vendor=old' });
  assert.match(started.seen.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'an invalid one is replaced');
  assert.equal(started.seen.tracestate, null, 'and its tracestate dropped');

  const none = await call(agent, `${mesh.url('test/server:80')}/d`);
  assert.match(none.seen.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(none.seen.traceparent, started.seen.traceparent);

  const unavailable = await get(agent, `${mesh.url('test/empty:80')}/e`);
  assert.equal(unavailable.status, 503);

  const text = () => chunks.join('').split('\n').filter((l) => l !== '');
  // Lines are handed over at the end of the event-loop turn in which the exchange finished.
  for (let i = 0; i < 200 && text().length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const lines = text().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  const [a, b, c, d] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual(Object.keys(a), ['time', 'route', 'method', 'path', 'status', 'durationMs', 'bytesIn', 'bytesOut', 'backend', 'endpoint', 'client', 'userAgent', 'traceparent']);
  assert.equal(a.route, 'test/server:80');
  assert.equal(a.method, 'GET');
  assert.equal(a.path, '/a/b', 'the query is not logged');
  assert.equal(a.status, 200);
  assert.equal(typeof a.durationMs, 'number');
  assert.ok(!Number.isNaN(Date.parse(a.time as string)));
  assert.equal(a.bytesIn, 0);
  assert.equal(a.bytesOut, Buffer.byteLength(passed.body));
  assert.equal(a.backend, 'test/server:80');
  assert.equal(a.endpoint, `127.0.0.1:${v1}`);
  assert.equal(a.client, '127.0.0.1');
  assert.equal(a.userAgent, 'probe/1');
  assert.equal(a.traceparent, incoming);
  assert.equal(b.traceparent, started.seen.traceparent, 'the log records the trace the backend saw');
  assert.equal(c.traceparent, none.seen.traceparent);
  assert.equal(d.status, 503);
  assert.equal(d.backend, 'test/empty:80');
  assert.equal(d.endpoint, null);
  assert.equal(d.bytesOut, Buffer.byteLength(unavailable.body));
  assert.equal(d.traceparent, null, 'nothing left the mesh, no trace was started');
});
