/**
 * Backend choice: split rules (first match, weights within rules, bad rules), the request view
 * matchers read, and the sticky cookie (pinning, fallback, forgery). Stage tests drive the
 * stage with small hand-made exchanges; the engine tests use real sockets.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect as h2connect, createServer as createH2Server } from 'node:http2';
import { createLogger } from '../../src/common/log.ts';
import { ClusterRuntime } from '../../src/proxy/cluster.ts';
import type { Exchange, HttpRoute, RouteBackend } from '../../src/proxy/http/exchange.ts';
import type { Failure } from '../../src/proxy/http/failures.ts';
import type { Upstream } from '../../src/proxy/http/upstream.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import { backendChoice } from '../../src/proxy/stages/backend-choice/backend-choice.ts';
import { ruleDispatch } from '../../src/proxy/stages/rule-dispatch/rule-dispatch.ts';
import { RequestView } from '../../src/proxy/stages/request-view.ts';
import { endpointPick } from '../../src/proxy/stages/endpoint-pick.ts';
import { stageContext, stageHandler } from '../../src/proxy/stages/pipeline.ts';
import { cookieValue } from '../../src/proxy/http/cookies.ts';
import { stickyToken } from '../../src/proxy/stages/backend-choice/sticky.ts';
import type { LoadBalancer, RouteEntry } from '../../src/table/index.ts';
import { cluster, route as routeEntry } from '../support/tables.ts';
import { LOOPBACK, client, engine, freePort, get, metricValue, namedBackend, svc, table } from './helpers.ts';

const log = createLogger('test', 'silent');
const SECRET = 'secret';

function clusterOf(name: string, endpoints: number, lb: LoadBalancer = { kind: 'round-robin' }): ClusterRuntime<Upstream> {
  const eps = Array.from({ length: endpoints }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
  return new ClusterRuntime<Upstream>(cluster('test', name, 80, eps, { loadBalancer: lb }), {
    affinitySecret: SECRET,
    createLink: () => { throw new Error('no links in stage tests'); },
    closeLink: () => {},
  });
}

type Weighted = { cluster: ClusterRuntime<Upstream>; weight: number };

/** An HttpRoute over runtime clusters, as route.ts would build it. */
function routeOf(backends: Weighted[], rules: { match: string; backends: Weighted[] }[] = [], extra: Partial<RouteEntry> = {}, name = 'web'): HttpRoute {
  const metrics = new ProxyMetrics();
  const wc = (b: Weighted) => ({ cluster: b.cluster.id, weight: b.weight });
  const entry = routeEntry('test', name, 80, { backends: backends.map(wc), rules: rules.map((r) => ({ match: r.match, backends: r.backends.map(wc) })), ...extra });
  const stats = metrics.route(entry);
  const resolve = (b: Weighted): RouteBackend => ({ cluster: b.cluster, weight: b.weight, stats: stats.backend(b.cluster.entry.service) });
  const rbs = backends.map(resolve);
  return {
    id: entry.id, entry, backends: rbs, stats, defaultStats: rbs[0]!.stats, retryAfterSeconds: 5, log,
    rules: rules.map((r, i) => ({ rule: entry.rules[i]!, match: r.match, backends: r.backends.map(resolve) })),
    affinitySecret: SECRET, warnings: [], handle: () => {}, complete: () => {},
  };
}

interface FakeRequest {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  remoteAddress?: string;
  httpVersion?: string;
}

/** The fields the stage touches; `rawHeaders` mirrors `headers`. */
function exchange(r: FakeRequest = {}) {
  const headers = r.headers ?? {};
  const failures: Failure[] = [];
  const ex = {
    method: r.method ?? 'GET',
    req: {
      url: r.url ?? '/',
      headers,
      rawHeaders: Object.entries(headers).flat(),
      httpVersion: r.httpVersion ?? '1.1',
      socket: { remoteAddress: r.remoteAddress ?? '127.0.0.1', remotePort: 40000 },
    },
    backend: undefined as RouteBackend | undefined,
    extraHeaders: undefined as string[] | undefined,
    fail(f: Failure) { failures.push(f); },
    rule: -1,
    prefixLength: -1,
    identity: () => undefined,
  };
  return { ex, failures, asExchange: ex as unknown as Exchange };
}

/** Runs the stage for one request: the backend's Service name, or `fail:<reason>`. */
function runner(route: HttpRoute) {
  let chosen: RouteBackend | undefined;
  const end = (ex: Exchange): void => { chosen = ex.backend; };
  // Rule dispatch in front, each rule's branch narrowed to the backend choice.
  const ctx = stageContext(route, { branchStages: [backendChoice], end });
  const h = stageHandler(ruleDispatch, ctx, stageHandler(backendChoice, ctx, end));
  return (r: FakeRequest = {}) => {
    chosen = undefined;
    const { asExchange, failures, ex } = exchange(r);
    h(asExchange);
    return { name: failures.length > 0 ? `fail:${failures[0]}` : chosen!.cluster.entry.service, setCookie: ex.extraHeaders };
  };
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

test('rules: the first matching rule picks its backends, in order; no match uses the route backends', () => {
  const [v1, v2, v3] = [clusterOf('v1', 1), clusterOf('v2', 1), clusterOf('v3', 1)];
  const run = runner(routeOf([{ cluster: v1, weight: 1 }], [
    { match: "path('/beta/*')", backends: [{ cluster: v2, weight: 1 }] },
    { match: "path('/beta/*', '/gamma/*')", backends: [{ cluster: v3, weight: 1 }] },
  ]));
  assert.equal(run({ url: '/beta/x' }).name, 'v2', 'both rules match: the first wins');
  assert.equal(run({ url: '/gamma/x?q=1' }).name, 'v3');
  assert.equal(run({ url: '/other' }).name, 'v1');
});

test('rules: weights apply within a rule; weight 0 gets nothing; a rule of zero weights answers no-backend', () => {
  const [v1, a, b, z] = [clusterOf('v1', 1), clusterOf('a', 1), clusterOf('b', 1), clusterOf('z', 1)];
  const run = runner(routeOf([{ cluster: v1, weight: 1 }], [
    { match: "header({'X-Group': 'ab'})", backends: [{ cluster: a, weight: 1 }, { cluster: b, weight: 3 }, { cluster: z, weight: 0 }] },
    { match: "header({'X-Group': 'none'})", backends: [{ cluster: z, weight: 0 }] },
  ]));
  const names = Array.from({ length: 400 }, () => run({ headers: { 'x-group': 'ab' } }).name);
  assert.deepEqual(tally(names), { a: 100, b: 300 });
  assert.equal(run({ headers: { 'x-group': 'none' } }).name, 'fail:no-backend');
  assert.equal(run().name, 'v1');
});

test('rules: a rule whose expression does not compile is skipped with a warning naming it', () => {
  const [v1, v2, v3] = [clusterOf('v1', 1), clusterOf('v2', 1), clusterOf('v3', 1)];
  const route = routeOf([{ cluster: v1, weight: 1 }], [
    { match: "heder({'X-A': '1'})", backends: [{ cluster: v2, weight: 1 }] },
    { match: "header({'X-A': '1'})", backends: [{ cluster: v3, weight: 1 }] },
  ]);
  const run = runner(route);
  assert.equal(run({ headers: { 'x-a': '1' } }).name, 'v3');
  assert.equal(route.warnings.length, 1);
  assert.match(route.warnings[0]!, /route test\/web:80: rules\[0\] is ignored .*EXPR_UNKNOWN_NAME at column 1/);
});

test('rules see the request: method, query, client address (IPv4-mapped unwrapped), protocol, host', () => {
  const [v1, v2] = [clusterOf('v1', 1), clusterOf('v2', 1)];
  const to = (match: string) => runner(routeOf([{ cluster: v1, weight: 1 }], [{ match, backends: [{ cluster: v2, weight: 1 }] }]));
  assert.equal(to("method('POST')")({ method: 'POST' }).name, 'v2');
  assert.equal(to("method('POST')")({ method: 'GET' }).name, 'v1');
  assert.equal(to("query({'beta': 'yes'})")({ url: '/p?beta=yes' }).name, 'v2');
  assert.equal(to("remote_ip('10.0.0.0/8')")({ remoteAddress: '::ffff:10.1.2.3' }).name, 'v2');
  assert.equal(to("remote_ip('10.0.0.0/8')")({ remoteAddress: '::ffff:192.168.1.1' }).name, 'v1');
  assert.equal(to("protocol('http/2')")({ httpVersion: '2.0' }).name, 'v2');
  assert.equal(to("protocol('http/2')")({ httpVersion: '1.1' }).name, 'v1');
  assert.equal(to("host('api.example.com')")({ headers: { ':authority': 'api.example.com:8080' } }).name, 'v2');
  assert.equal(to("{remote.port} == '40000'")({}).name, 'v2');
});

test('request view: lazy fields, and no request kept once unbound', () => {
  const view = new RequestView();
  const { asExchange } = exchange({ method: 'PUT', url: '/x?y', headers: { host: 'h:1' }, remoteAddress: '::ffff:10.0.0.9', httpVersion: '1.0' });
  view.bind(asExchange.req, 'PUT');
  assert.deepEqual(
    [view.method, view.url, view.host, view.remoteAddress, view.remotePort, view.httpVersion, view.secure],
    ['PUT', '/x?y', 'h:1', '10.0.0.9', 40000, '1.0', false],
  );
  view.unbind();
  assert.deepEqual([view.url, view.host, view.remoteAddress, view.remotePort, view.headers], ['/', '', '', undefined, {}]);
});

/** `name=value` of the Set-Cookie a request got for `name`. */
function cookieOf(setCookie: string[] | undefined, name: string): string | undefined {
  if (setCookie === undefined) return undefined;
  for (let i = 0; i < setCookie.length; i += 2) {
    const v = setCookie[i + 1]!;
    if (setCookie[i] === 'set-cookie' && v.startsWith(`${name}=`)) return v;
  }
  return undefined;
}

test('sticky cookie lookup: the first value of exactly that name, in any Cookie field', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
  const value = fc.stringMatching(/^[!#-+\-.-:<-~]{0,12}$/);
  const field = fc.array(fc.tuple(name, value), { maxLength: 5 });
  fc.assert(fc.property(fc.array(field, { maxLength: 3 }), name, fc.constantFrom('; ', ';', ';  '), (fields, wanted, sep) => {
    const raw = fields.flatMap((pairs, i) => [i % 2 === 0 ? 'cookie' : 'Cookie', pairs.map(([n, v]) => `${n}=${v}`).join(sep)]);
    const expected = fields.flat().find(([n]) => n === wanted)?.[1];
    assert.equal(cookieValue(['accept', '*/*', ...raw], wanted), expected);
  }), { numRuns: 500 });
  assert.equal(cookieValue(['cookie', 'xpin=1; pin=2'], 'pin'), '2', 'a longer name ending in the name is another cookie');
  assert.equal(cookieValue(['cookie', ' pin=3 ;pin=4'], 'pin'), '3', 'spaces around a pair are not part of it');
  assert.equal(cookieValue(['cookie', 'pin'], 'pin'), undefined);
  assert.equal(cookieValue(['cookie', 'pin='], 'pin'), '');
});

test('sticky cookie: set once, then pins; weights still spread clients without it', () => {
  const [v1, v2] = [clusterOf('v1', 1), clusterOf('v2', 1)];
  const run = runner(routeOf([{ cluster: v1, weight: 1 }, { cluster: v2, weight: 1 }], [], { stickyCookie: 'pin' }));
  const first = run();
  const set = cookieOf(first.setCookie, 'pin')!;
  assert.equal(set, `pin=${stickyToken(SECRET, 'test/web:80', `test/${first.name}:80`)}; Path=/; HttpOnly; SameSite=Lax`);
  const cookie = { cookie: `a=b; ${set.slice(0, set.indexOf(';'))}` };
  for (let i = 0; i < 50; i++) {
    const r = run({ headers: cookie });
    assert.equal(r.name, first.name);
    assert.equal(r.setCookie, undefined);
  }
  assert.deepEqual(tally(Array.from({ length: 10 }, () => run().name)), { v1: 5, v2: 5 });
});

test('sticky cookie: falls back and re-pins when the backend has no usable endpoint or weight 0', () => {
  const [v1, v2, gone] = [clusterOf('v1', 2), clusterOf('v2', 1), clusterOf('gone', 0)];
  const token = (c: ClusterRuntime<Upstream>) => `pin=${stickyToken(SECRET, 'test/web:80', c.id)}`;
  const run = runner(routeOf([{ cluster: v1, weight: 1 }, { cluster: v2, weight: 1 }, { cluster: gone, weight: 1 }], [], { stickyCookie: 'pin' }));
  const toEmpty = run({ headers: { cookie: token(gone) } });
  assert.notEqual(toEmpty.name, 'gone');
  assert.match(cookieOf(toEmpty.setCookie, 'pin')!, new RegExp(`^${token(toEmpty.name === 'v1' ? v1 : v2)};`));

  // Every endpoint of v1 rests (passive health): v1's clients move to v2.
  for (const ep of v1.pool.endpoints) v1.pool.reportFailure(ep);
  const resting = run({ headers: { cookie: token(v1) } });
  assert.equal(resting.name, 'v2');
  assert.ok(cookieOf(resting.setCookie, 'pin')!.startsWith(token(v2)));
  for (const ep of v1.pool.endpoints) v1.pool.reportSuccess(ep);
  assert.equal(run({ headers: { cookie: token(v1) } }).name, 'v1');

  const zero = runner(routeOf([{ cluster: v1, weight: 0 }, { cluster: v2, weight: 1 }], [], { stickyCookie: 'pin' }));
  const moved = zero({ headers: { cookie: token(v1) } });
  assert.equal(moved.name, 'v2', 'a weight of 0 moves pinned clients off');
  assert.ok(cookieOf(moved.setCookie, 'pin') !== undefined);
});

test('sticky cookie: values of another route, another secret, another candidate set, or made up are not honoured', () => {
  const [v1, v2, canary] = [clusterOf('v1', 1), clusterOf('v2', 1), clusterOf('canary', 1)];
  const route = routeOf([{ cluster: v1, weight: 1 }, { cluster: v2, weight: 0 }], [
    { match: "header({'X-Canary': 'yes'})", backends: [{ cluster: canary, weight: 1 }] },
  ], { stickyCookie: 'pin' });
  const run = runner(route);
  const forged = [
    stickyToken(SECRET, 'test/other:80', canary.id),
    stickyToken('another secret', 'test/web:80', canary.id),
    stickyToken(SECRET, 'test/web:80', canary.id),
    stickyToken(SECRET, 'test/web:80', 'test/elsewhere:80'),
    'AAAAAAAAAAAAAAAA',
    v1.pool.endpoints[0]!.token,
  ];
  for (const value of forged) {
    const r = run({ headers: { cookie: `pin=${value}` } });
    assert.equal(r.name, 'v1', value);
    assert.ok(cookieOf(r.setCookie, 'pin')!.startsWith(`pin=${stickyToken(SECRET, 'test/web:80', v1.id)};`));
  }
  // The canary's own cookie works for requests the rule sends there, and only for those.
  const canaryCookie = `pin=${stickyToken(SECRET, 'test/web:80', canary.id)}`;
  assert.deepEqual(run({ headers: { cookie: canaryCookie, 'x-canary': 'yes' } }), { name: 'canary', setCookie: undefined });
});

test('sticky and endpoint-affinity cookies are both set on one response', () => {
  const v1 = clusterOf('v1', 2, { kind: 'cookie', cookie: 'ep' });
  const route = routeOf([{ cluster: v1, weight: 1 }], [], { stickyCookie: 'pin' });
  let headers: string[] | undefined;
  const ctx = stageContext(route);
  const pick = endpointPick(ctx, (ex) => { headers = ex.extraHeaders; });
  const h = stageHandler(backendChoice, ctx, (ex) => pick(ex, () => {}));
  h(exchange().asExchange);
  assert.deepEqual(headers!.filter((_, i) => i % 2 === 1).map((v) => v.slice(0, v.indexOf('='))), ['pin', 'ep']);
});

async function h2Get(t: TestContext, port: number, path: string): Promise<string> {
  const c = h2connect(`http://${LOOPBACK}:${port}`);
  c.on('error', () => {});
  t.after(() => c.destroy());
  const req = c.request({ ':path': path });
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { s += d; });
    req.on('end', () => resolve(s));
    req.on('error', reject);
    req.end();
  });
}

test('engine: a rule sends matching requests straight to its cluster, which keeps its own scheme; its series exist at once', async (t) => {
  const v1 = await namedBackend(t, 'v1');
  const h2 = createH2Server();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(`v2 over h2c ${headers[':path']}`);
  });
  await new Promise<void>((resolve) => h2.listen(0, LOOPBACK, resolve));
  const sessions = new Set<{ destroy(): void }>();
  h2.on('session', (s) => sessions.add(s));
  t.after(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((resolve) => h2.close(() => resolve()));
  });
  const port = await freePort();
  const e = engine(t);
  const web = svc('web', [v1.port]);
  const canary = svc('web-v2', [(h2.address() as { port: number }).port], { scheme: 'h2c' });
  const tbl = table([
    { cluster: web, listenPort: port, route: { rules: [{ match: "path('/beta/*') || protocol('http/2')", backends: [{ cluster: canary.id, weight: 1 }] }] } },
    { cluster: canary, listenPort: await freePort() },
  ]);
  const applied = await e.apply(tbl);
  assert.ok(applied.ok);
  assert.deepEqual(applied.warnings, [], 'rules are enforced, not reported as unsupported');
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*destination_service="web".*backend="web-v2".*code="200".*\} /), 0);

  const agent = client(t);
  assert.equal((await get(agent, `http://${LOOPBACK}:${port}/beta/1`)).body, 'v2 over h2c /beta/1');
  assert.equal((await get(agent, `http://${LOOPBACK}:${port}/alpha`)).body, 'v1');
  assert.equal(await h2Get(t, port, '/alpha'), 'v2 over h2c /alpha', 'an HTTP/2 client matches protocol(http/2)');
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*destination_service="web".*backend="web-v2".*code="200".*\} /), 2);

  // A rule whose expression this proxy cannot compile is reported, and the table still applies.
  const bad = structuredClone(tbl);
  bad.version = 2;
  bad.routes[0]!.rules = [{ match: 'path(', backends: [{ cluster: canary.id, weight: 1 }] }];
  const r = await e.apply(bad);
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /rules\[0\] is ignored/);
  assert.equal((await get(agent, `http://${LOOPBACK}:${port}/beta/1`)).body, 'v1');
});

test('engine: a sticky cookie name that is not a token refuses the table, naming the route', async (t) => {
  const e = engine(t);
  const r = await e.apply(table([{ cluster: svc('web', []), listenPort: await freePort(), route: { stickyCookie: 'pin; Domain=evil' } }]));
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.code === 'TABLE_INVALID');
  assert.deepEqual(!r.ok && r.error.problems?.map((p) => p.path), ['$.routes[0].stickyCookie']);
});
