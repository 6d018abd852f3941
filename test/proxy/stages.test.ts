/** Each stage on its own: built for a route, driven with a small hand-made request context. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/common/log.ts';
import { ClusterRuntime } from '../../src/proxy/cluster.ts';
import type { AttemptDone, Exchange, HttpRoute, RouteBackend, UpstreamAttempt } from '../../src/proxy/http/exchange.ts';
import type { Failure } from '../../src/proxy/http/failures.ts';
import type { Upstream } from '../../src/proxy/http/upstream.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import { backendChoice } from '../../src/proxy/stages/backend-choice/backend-choice.ts';
import { deliver } from '../../src/proxy/stages/deliver.ts';
import { endpointPick } from '../../src/proxy/stages/endpoint-pick.ts';
import { NO_ENDPOINT } from '../../src/proxy/stages/failed-attempt.ts';
import { stageContext, stageHandler } from '../../src/proxy/stages/pipeline.ts';
import { requestTimeout } from '../../src/proxy/stages/request-timeout.ts';
import { RequestView } from '../../src/proxy/stages/request-view.ts';
import type { Link } from '../../src/proxy/stages/types.ts';
import type { LoadBalancer } from '../../src/table/index.ts';
import { cluster, route as routeEntry } from '../support/tables.ts';

const log = createLogger('test', 'silent');

function clusterOf(name: string, n: number, lb: LoadBalancer = { kind: 'round-robin' }): ClusterRuntime<Upstream> {
  const eps = Array.from({ length: n }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
  return new ClusterRuntime<Upstream>(cluster('test', name, 80, eps, { loadBalancer: lb }), {
    affinitySecret: 's',
    createLink: () => { throw new Error('no links in stage tests'); },
    closeLink: () => {},
  });
}

function routeWith(backends: { cluster: ClusterRuntime<Upstream>; weight: number }[], extra: Parameters<typeof routeEntry>[3] = {}): HttpRoute {
  const metrics = new ProxyMetrics();
  const entry = routeEntry('test', 'web', 80, { backends: backends.map((b) => ({ cluster: b.cluster.id, weight: b.weight })), ...extra });
  const stats = metrics.route(entry);
  const rbs: RouteBackend[] = backends.map((b) => ({ cluster: b.cluster, weight: b.weight, stats: stats.backend(b.cluster.entry.service) }));
  return { id: entry.id, entry, backends: rbs, stats, defaultStats: rbs[0]!.stats, retryAfterSeconds: 5, log, rules: [], affinitySecret: 's', warnings: [], handle: () => {}, complete: () => {} };
}

/** The fields stages touch, with calls recorded. */
function fakeExchange(rawHeaders: string[] = []) {
  const calls: string[] = [];
  const ex = {
    req: { rawHeaders, headers: {} },
    backend: undefined as RouteBackend | undefined,
    endpoint: undefined as unknown,
    tried: undefined,
    extraHeaders: undefined as string[] | undefined,
    at: 0,
    prev: undefined,
    next: undefined,
    done: false,
    fail(f: Failure) { calls.push(`fail:${f}`); },
    expire() { calls.push('expire'); },
  };
  return { ex, calls, asExchange: ex as unknown as Exchange };
}

test('backend choice: weights are honoured exactly, weight 0 never, empty clusters passed over', () => {
  const a = clusterOf('a', 1);
  const b = clusterOf('b', 1);
  const z = clusterOf('z', 1);
  const picked: string[] = [];
  const h = stageHandler(backendChoice, stageContext(routeWith([{ cluster: a, weight: 2 }, { cluster: b, weight: 1 }, { cluster: z, weight: 0 }])), (ex) => picked.push(ex.backend!.cluster.id));
  for (let i = 0; i < 30; i++) h(fakeExchange().asExchange);
  assert.equal(picked.filter((p) => p === 'test/a:80').length, 20);
  assert.equal(picked.filter((p) => p === 'test/b:80').length, 10);
  assert.deepEqual(picked.slice(0, 3), ['test/a:80', 'test/b:80', 'test/a:80'], 'interleaved, not in bursts');

  const empty = clusterOf('empty', 0);
  const only: string[] = [];
  const h2 = stageHandler(backendChoice, stageContext(routeWith([{ cluster: empty, weight: 5 }, { cluster: b, weight: 1 }])), (ex) => only.push(ex.backend!.cluster.id));
  for (let i = 0; i < 6; i++) h2(fakeExchange().asExchange);
  assert.deepEqual(new Set(only), new Set(['test/b:80']));

  const { asExchange, calls } = fakeExchange();
  stageHandler(backendChoice, stageContext(routeWith([{ cluster: a, weight: 0 }])), () => assert.fail('no backend may be chosen'))(asExchange);
  assert.deepEqual(calls, ['fail:no-backend']);
});

test('endpoint pick: cookie affinity sets the cookie only when the endpoint changes; no endpoint reports NO_ENDPOINT', () => {
  const c = clusterOf('a', 3, { kind: 'cookie', cookie: 'aff' });
  const route = routeWith([{ cluster: c, weight: 1 }]);
  const seen: unknown[] = [];
  const pick = endpointPick(stageContext(route), (ex) => seen.push(ex.endpoint));
  const done: AttemptDone = () => assert.fail('no failure expected');

  const first = fakeExchange();
  first.ex.backend = route.backends[0];
  pick(first.asExchange, done);
  const ep = seen[0] as { token: string };
  assert.deepEqual(first.ex.extraHeaders, ['set-cookie', `aff=${ep.token}; Path=/; HttpOnly; SameSite=Lax`]);

  const again = fakeExchange(['Cookie', `x=1; aff=${ep.token}`]);
  again.ex.backend = route.backends[0];
  pick(again.asExchange, done);
  assert.equal(seen[1], ep);
  assert.equal(again.ex.extraHeaders, undefined);

  const none = routeWith([{ cluster: clusterOf('none', 0), weight: 1 }]);
  const outcomes: UpstreamAttempt[] = [];
  const ex = fakeExchange();
  ex.ex.backend = none.backends[0];
  endpointPick(stageContext(none), () => assert.fail('no endpoint to forward to'))(ex.asExchange, (_e, a) => outcomes.push(a));
  assert.deepEqual(outcomes, [NO_ENDPOINT]);
  assert.equal(NO_ENDPOINT.failure, 'no-endpoint');
});

test('endpoint pick: header affinity passes the header value to the balancer', () => {
  const c = clusterOf('a', 5, { kind: 'header', header: 'X-Tenant' });
  const route = routeWith([{ cluster: c, weight: 1 }]);
  const seen: unknown[] = [];
  const pick = endpointPick(stageContext(route), (ex) => seen.push(ex.endpoint));
  for (let i = 0; i < 10; i++) {
    const f = fakeExchange(['x-tenant', 'acme']);
    f.ex.backend = route.backends[0];
    pick(f.asExchange, () => {});
  }
  assert.equal(new Set(seen).size, 1);
});

test('request timeout: absent means no stage at all; present arms a deadline that expires the exchange', async () => {
  const next: Link = { handle: () => {}, complete: () => {} };
  const a = clusterOf('a', 1);
  assert.equal(requestTimeout(stageContext(routeWith([{ cluster: a, weight: 1 }])), next), next, 'no per-request cost without a deadline');
  const h = requestTimeout(stageContext(routeWith([{ cluster: a, weight: 1 }], { requestTimeoutMs: 5 })), next).handle;
  const f = fakeExchange();
  h(f.asExchange);
  assert.ok(f.ex.at > 0, 'armed on the shared ticker');
  await new Promise<void>((resolve) => {
    const iv = setInterval(() => { if (f.calls.includes('expire')) { clearInterval(iv); resolve(); } }, 5);
  });
  assert.deepEqual(f.calls, ['expire']);
});

test('deliver: a failure becomes an error page, a head is committed, a finished exchange discards', () => {
  const log: string[] = [];
  const attempt = (failure: Failure | undefined): UpstreamAttempt => ({
    endpoint: undefined, failure, status: failure ? 0 : 200, headers: failure ? undefined : {},
    commit: () => log.push('commit'), discard: () => log.push('discard'), cancel: () => log.push('cancel'),
  });
  let outcome: UpstreamAttempt = attempt('dial');
  const h = deliver((ex, done) => done(ex, outcome));
  const f1 = fakeExchange();
  h(f1.asExchange);
  assert.deepEqual(f1.calls, ['fail:dial']);
  outcome = attempt(undefined);
  h(fakeExchange().asExchange);
  const f3 = fakeExchange();
  f3.ex.done = true;
  h(f3.asExchange);
  assert.deepEqual(log, ['commit', 'discard']);
});

test('expressions: each one that does not compile is a route warning of one form, and the route runs without it', () => {
  const a = clusterOf('a', 1);
  const base = routeWith([{ cluster: a, weight: 1 }], {
    retry: { count: 1, on: "method('GET'", codes: [] },
    circuitBreaker: { expression: 'NetworkErrorRatio( > 1' },
    rateLimit: { ratePerSecond: 1, burst: 1, key: 'header(', zoneSize: 10 },
  });
  const route: HttpRoute = { ...base, rules: [{ rule: { match: 'nope(', backends: [] }, match: 'nope(', backends: base.backends }] };
  const { expressions } = stageContext(route);
  assert.equal(route.warnings.length, 4, route.warnings.join('\n'));
  for (const w of route.warnings) assert.match(w, /^route test\/web:80: .+ is ignored \(.+\): EXPR_[A-Z_]+ at column \d+: /);
  assert.deepEqual(route.warnings.map((w) => w.slice('route test/web:80: '.length, w.indexOf(' is ignored'))), [
    'rules[0]', 'retry-on', 'the circuit-breaker expression', 'the rate-limit key',
  ]);
  assert.deepEqual(expressions.rules, [undefined]);
  assert.equal(expressions.retryOn, undefined, 'only connection failures are retried');
  assert.equal(expressions.breaker, undefined, 'no breaker');
  assert.ok(expressions.rateLimitKey !== undefined, 'limited by the client address instead');
});

test('the request view expressions read: TLS-aware secure, fields read lazily, nothing kept after unbind', () => {
  const view = new RequestView();
  const req = { method: 'GET', url: '/x', headers: { host: 'web' }, httpVersion: '1.1', socket: { remoteAddress: '::ffff:10.0.0.1', remotePort: 1234, encrypted: true } };
  view.bind(req as never, 'GET');
  assert.equal(view.secure, true);
  assert.equal(view.host, 'web');
  assert.equal(view.remoteAddress, '10.0.0.1');
  view.unbind();
  assert.equal(view.secure, false);
  assert.deepEqual(view.headers, {});
  view.bind({ ...req, socket: { remoteAddress: '10.0.0.2' } } as never, 'POST');
  assert.equal(view.secure, false);
  assert.equal(view.method, 'POST');
});
