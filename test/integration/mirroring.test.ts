/**
 * Mirroring end to end through `hostmesh standalone`: 10% of 2,000 requests are copied to the
 * mirror Service while clients see only the primary, with a healthy, a dead and a hanging mirror.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, freePort, get, httpBackend, metricValue } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import { until } from '../support/until.ts';

const TOTAL = 2000;

async function meshWithMirror(t: TestContext, primaryPort: number, mirrorPort: number, limits = {}): Promise<StandaloneFixture> {
  return withStandalone(t, {
    'web.yaml': service('web', { ports: [primaryPort], annotations: { 'hostmesh.io/mirror-service': 'shadow', 'hostmesh.io/mirror-percent': '10' } }),
    'shadow.yaml': service('shadow', { ports: [mirrorPort] }),
  }, { limits });
}

/** 2,000 requests over 20 connections; every one must be the primary's 200. */
async function run(t: TestContext, mesh: StandaloneFixture): Promise<void> {
  const c = client(t, { connections: 20 });
  const url = `${mesh.url('test/web:80')}/item`;
  let next = 0;
  const bad: string[] = [];
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < TOTAL) {
      const i = next++;
      const r = await get(c, `${url}?n=${i}`, { method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : `body ${i}` }).catch((err: Error) => ({ status: -1, body: err.message }));
      if (r.status !== 200 || r.body !== 'primary') bad.push(`${r.status} ${r.body}`);
    }
  }));
  assert.deepEqual(bad, [], 'every client request gets the primary answer');
}

async function mirrorCount(mesh: StandaloneFixture, result: string): Promise<number> {
  const v = await metricValue(mesh.mesh.engine, new RegExp(`^hostmesh_mirror_requests_total\\{destination_namespace="test",destination_service="web",destination_port="80",backend="shadow",result="${result}"\\}`));
  assert.notEqual(v, undefined, `series for ${result}`);
  return v!;
}


test('10% of 2,000 requests land on the mirror; clients see only the primary', async (t) => {
  const primary = await httpBackend(t, (req, res) => { req.resume(); req.on('end', () => res.end('primary')); });
  const bodies: string[] = [];
  const shadow = await httpBackend(t, (req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { b += d; });
    req.on('end', () => {
      if (req.method === 'POST') bodies.push(`${req.url} ${b}`);
      res.statusCode = 500;
      res.end('mirror');
    });
  });
  const mesh = await meshWithMirror(t, primary.port, shadow.port);
  await run(t, mesh);
  await until('copies in flight', async () => (await mirrorCount(mesh, 'sent')) === shadow.seen.length, 10_000);
  const copies = shadow.seen.length;
  // Binomial(2000, 0.1): mean 200, standard deviation 13.4; allow five of them.
  assert.ok(copies >= 133 && copies <= 267, `${copies} copies`);
  assert.equal(primary.seen.length, TOTAL);
  assert.equal(await mirrorCount(mesh, 'dropped'), 0);
  assert.equal(await mirrorCount(mesh, 'failed'), 0);
  for (const b of bodies) assert.match(b, /^\/item\?n=(\d+) body \1$/, 'a POST copy carries its own body');
});

test('a dead mirror: all 2,000 client requests succeed, copies count as failed', async (t) => {
  const primary = await httpBackend(t, (req, res) => { req.resume(); req.on('end', () => res.end('primary')); });
  const mesh = await meshWithMirror(t, primary.port, await freePort());
  await run(t, mesh);
  await until('copies accounted for', async () => (await mirrorCount(mesh, 'failed')) + (await mirrorCount(mesh, 'dropped')) >= 133, 10_000);
  assert.equal(await mirrorCount(mesh, 'sent'), 0);
  assert.ok((await mirrorCount(mesh, 'failed')) > 0);
});

test('a hanging mirror: all 2,000 client requests succeed and no more copies than the bound are ever open', async (t) => {
  const primary = await httpBackend(t, (req, res) => { req.resume(); req.on('end', () => res.end('primary')); });
  let open = 0;
  let maxOpen = 0;
  const hanging = await httpBackend(t, (req) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    req.socket.once('close', () => open--);
  });
  // A long copy timeout, so no copy ends during the run and the bound is the only limit.
  const mesh = await meshWithMirror(t, primary.port, hanging.port, { mirrorTimeoutMs: 60_000 });
  await run(t, mesh);
  await until('the bound is reached', async () => hanging.seen.length === 64, 10_000);
  assert.equal(maxOpen, 64, 'mirrorMaxInFlight (64) copies at most');
  assert.ok((await mirrorCount(mesh, 'dropped')) >= 133 - 64);
  hanging.server.closeAllConnections();
  await until('the cut copies count as failed', async () => (await mirrorCount(mesh, 'failed')) === 64, 10_000);
});
