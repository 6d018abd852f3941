/**
 * The attempt contract a retry stage builds on: a response head is held until the stage
 * commits or discards it, asynchronously if it likes; a discarded attempt can be followed by
 * another one at another endpoint.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createLogger } from '../../src/common/log.ts';
import { ClusterRuntime } from '../../src/proxy/cluster.ts';
import type { AttemptDone } from '../../src/proxy/http/exchange.ts';
import { HttpListener } from '../../src/proxy/http/listener.ts';
import { buildHttpRoute } from '../../src/proxy/http/route.ts';
import { closeUpstream, createUpstream } from '../../src/proxy/http/upstream.ts';
import type { Upstream } from '../../src/proxy/http/upstream.ts';
import { DEFAULT_LIMITS } from '../../src/proxy/limits.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import { backendChoice } from '../../src/proxy/stages/backend-choice/backend-choice.ts';
import { stageContext, stageHandler } from '../../src/proxy/stages/pipeline.ts';
import type { AttemptHandler } from '../../src/proxy/stages/types.ts';
import { route as routeEntry } from '../support/tables.ts';
import { client, freePort, get, httpBackend, LOOPBACK, svc, tcpServer } from './helpers.ts';

const log = createLogger('test', 'silent');

/** A listener whose route runs `endpoint pick -> forward` under a hand-written deciding stage. */
async function listenerWith(t: TestContext, ports: number[], decide: (attempt: AttemptHandler) => AttemptDone): Promise<number> {
  const entry = svc('web', ports, { loadBalancer: { kind: 'round-robin' } });
  const cluster = new ClusterRuntime<Upstream>(entry, { affinitySecret: 's', createLink: (e, ep) => createUpstream(e, ep, DEFAULT_LIMITS), closeLink: closeUpstream });
  t.after(() => cluster.close());
  const re = routeEntry('test', 'web', 80);
  const { route } = buildHttpRoute(re, new Map([[entry.id, cluster]]), new ProxyMetrics().route(re), { retryAfterSeconds: 5, maxHeaderSize: 16384, log });
  const ctx = stageContext(route);
  const attempt = ctx.attempt;
  const onOutcome = decide(attempt);
  route.handle = stageHandler(backendChoice, ctx, (ex) => attempt(ex, onOutcome));
  const port = await freePort();
  const listener = new HttpListener({ host: LOOPBACK, port, route, limits: DEFAULT_LIMITS, log });
  await listener.listen();
  t.after(() => listener.close(100));
  return port;
}

test('a held head can be discarded and the request tried again elsewhere, then committed later', async (t) => {
  const big = 'f'.repeat(1024 * 1024);
  const bad = await httpBackend(t, (_req, res) => { res.writeHead(503); res.end('nope'); });
  const good = await httpBackend(t, (_req, res) => res.end(big));
  const port = await listenerWith(t, [bad.port, good.port], (attempt) => {
    const onOutcome: AttemptDone = (ex, a) => {
      if (a.failure !== undefined) return ex.fail(a.failure);
      setTimeout(() => { // decide later: the backend body waits meanwhile
        if (a.status === 503 && ex.tried === undefined) {
          ex.tried = new Set([a.endpoint!]);
          a.discard();
          attempt(ex, onOutcome);
        } else a.commit();
      }, 10);
    };
    return onOutcome;
  });
  const c = client(t);
  for (let i = 0; i < 6; i++) {
    const r = await get(c, `http://${LOOPBACK}:${port}/`);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big.length);
  }
  assert.ok(bad.seen.length >= 3, `round robin sent ${bad.seen.length} first attempts to the failing endpoint`);
  assert.equal(good.seen.length, 6);
});

test('a backend that fails while its head is held shows up after commit, as a cut connection', async (t) => {
  const flaky = await tcpServer(t, (s) => s.once('data', () => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
    setTimeout(() => s.destroy(), 5);
  }));
  const port = await listenerWith(t, [flaky.port], () => (ex, a) => {
    if (a.failure !== undefined) return ex.fail(a.failure);
    setTimeout(() => a.commit(), 50);
  });
  // undici reads nothing from a paused response, so the loss is only seen once the body flows.
  const r = await request(`http://${LOOPBACK}:${port}/`, { dispatcher: client(t) });
  assert.equal(r.statusCode, 200);
  await assert.rejects(r.body.text());
});
