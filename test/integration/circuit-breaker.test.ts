/**
 * The circuit breaker end to end through `hostmesh standalone` (canonical and Traefik Mesh keys).
 * Durations are engine limits: production defaults (10 s open, 10 s recovering) would make this
 * test slow, so it shortens them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, get, httpBackend, metricValue } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';

const SHORT = { breakerCheckPeriodMs: 0, breakerFallbackMs: 1500, breakerRecoveryMs: 300 };

for (const key of ['hostmesh.io/circuit-breaker-expression', 'mesh.traefik.io/circuit-breaker-expression']) {
  test(`${key}: opens on injected failures, answers 503 without contacting the backend, closes again`, async (t) => {
    let failing = false;
    let hits = 0;
    const b = await httpBackend(t, (_req, res) => {
      hits++;
      if (failing) res.socket?.destroy();
      else res.end('fine');
    });
    const mesh = await withStandalone(t, {
      'web.yaml': service('web', { ports: [b.port], annotations: { [key]: 'NetworkErrorRatio() > 0.30' } }),
    }, { limits: SHORT });
    const gauge = () => metricValue(mesh.mesh.engine, /^hostmesh_circuit_breaker_open\{destination_namespace="test",destination_service="web",destination_port="80"\}/);
    const c = client(t);
    const url = `${mesh.url('test/web:80')}/`;
    assert.equal(await gauge(), 0, 'the gauge exists from the first scrape');
    for (let i = 0; i < 5; i++) assert.equal((await get(c, url)).status, 200);

    failing = true;
    let status = 0;
    for (let i = 0; i < 10 && status !== 503; i++) status = (await get(c, url)).status;
    assert.equal(status, 503, 'the breaker opened after the resets');
    assert.equal(await gauge(), 1);

    const before = hits;
    let refused = 0;
    let reached = 0;
    for (let i = 0; i < 30; i++) {
      const r = await get(c, url);
      if (r.status === 503) {
        refused++;
        assert.match(r.body, /test\/web:80<\/b> is failing: its circuit breaker is open/);
        assert.ok(r.headers['retry-after']);
      } else reached++;
    }
    assert.ok(refused > 0);
    assert.equal(hits - before, reached, 'while open, no request reaches the backend');

    failing = false;
    const end = Date.now() + 15_000;
    let fine = 0;
    // Five 200s in a row can come late in recovery, while the breaker still counts as not
    // closed (the passed share nears all): wait for the gauge too, not only for the run.
    while (fine < 5 || (await gauge()) !== 0) {
      assert.ok(Date.now() < end, 'the breaker closes again');
      fine = (await get(c, url)).status === 200 ? fine + 1 : 0;
      if (fine === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await gauge(), 0);
    for (let i = 0; i < 5; i++) assert.equal((await get(c, url)).status, 200, 'closed: every request passes');
  });
}
