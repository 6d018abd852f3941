/**
 * SMI end to end through `hostmesh standalone`, with Traefik Mesh's whoami example as a user
 * has it (examples/smi: smi.yaml unchanged; whoami.yaml's backend ports pointed at this test's
 * loopback backends). Clients bind distinct 127.0.0.x addresses listed as Pods, so the proxy
 * sees them as different ServiceAccounts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import type { StandaloneOptions } from '../../src/cli/standalone.ts';
import type { TestContext } from 'node:test';
import { agentFrom, call } from '../support/http-from.ts';
import { tcpBackend } from '../proxy/l4-fixtures.ts';

const EXAMPLE = new URL('../../examples/smi/', import.meta.url).pathname;

interface Whoami {
  mesh: StandaloneFixture;
  /** Bytes the TCP backend received, and connections it accepted. */
  tcp: { received: number; accepted: number };
}

/** The example with its backends started here: v1 and v2 answer their name and the path. */
async function whoami(t: TestContext, opts: Partial<StandaloneOptions> = {}): Promise<Whoami> {
  const v1 = await httpBackend(t, (req, res) => res.end(`v1 ${req.method} ${req.url}`));
  const v2 = await httpBackend(t, (req, res) => res.end(`v2 ${req.method} ${req.url}`));
  const tcp = { received: 0, accepted: 0 };
  const echo = await tcpBackend(t, (s) => {
    tcp.accepted++;
    s.on('data', (d: Buffer) => { tcp.received += d.length; s.write(d); });
    s.on('end', () => s.end());
  });
  const manifests = readFileSync(`${EXAMPLE}whoami.yaml`, 'utf8')
    .replaceAll('9101', String(v1.port)).replaceAll('9102', String(v2.port)).replaceAll('9103', String(echo.port));
  const mesh = await withStandalone(t, { 'whoami.yaml': manifests, 'smi.yaml': readFileSync(`${EXAMPLE}smi.yaml`, 'utf8') }, opts);
  return { mesh, tcp };
}

test('the example translates without a warning; its TrafficSplit sends 20% of 2,000 requests to v2 (within 5 points)', async (t) => {
  const { mesh } = await whoami(t);
  assert.deepEqual(mesh.mesh.diagnostics().filter((d) => d.severity !== 'info'), []);
  const c = client(t);
  const url = `${mesh.url('whoami/whoami:80')}/api`;
  let v2 = 0;
  for (let i = 0; i < 2000; i++) {
    const r = await get(c, url);
    assert.equal(r.status, 200);
    if (r.body.startsWith('v2 ')) v2++;
  }
  const share = v2 / 2000;
  assert.ok(Math.abs(share - 0.2) <= 0.05, `v2 got ${(share * 100).toFixed(1)}%`);
});

function tcpRoundTrip(port: number, localAddress: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) s.end();
    });
    s.on('error', () => {});
    // Half-open: answer the proxy's FIN (a denied connection is closed at once) with ours.
    s.on('end', () => s.end());
    s.on('close', () => resolve(got));
    s.write(text);
  });
}

test('ACL mode, whoami example: the client may use /api (any method) and GET /metrics; everything else is 403; TCP only with the TCPRoute', async (t) => {
  const { mesh, tcp } = await whoami(t, { acl: true });
  assert.deepEqual(mesh.mesh.diagnostics().filter((d) => d.severity !== 'info'), []);
  const port = mesh.port('whoami/whoami:80');
  const client = agentFrom(t, '127.0.0.2');
  const intruder = agentFrom(t, '127.0.0.3');
  const stranger = agentFrom(t, '127.0.0.9');

  for (const [method, path] of [['GET', '/api'], ['POST', '/api/items'], ['DELETE', '/api/items/1'], ['GET', '/metrics']] as const) {
    const r = await call(client, port, method, path);
    assert.equal(r.status, 200, `${method} ${path}`);
    assert.match(r.body, new RegExp(`^v[12] ${method} ${path}$`));
  }
  const denied = await call(client, port, 'POST', '/metrics');
  assert.equal(denied.status, 403);
  assert.equal(denied.body, '403 Forbidden: whoami/whoami:80 denies this request from ServiceAccount whoami/whoami-client: ACL mode, and no TrafficTarget allows it\n');
  assert.equal((await call(client, port, 'GET', '/other')).status, 403);

  const json = await call(intruder, port, 'GET', '/api', { accept: 'application/json' });
  assert.equal(json.status, 403);
  assert.equal(json.type, 'application/json');
  assert.deepEqual(JSON.parse(json.body), { status: 403, error: 'Forbidden', service: 'whoami/whoami:80', reason: 'whoami/whoami:80 denies this request from ServiceAccount whoami/intruder: ACL mode, and no TrafficTarget allows it' });
  assert.equal((await call(intruder, port, 'GET', '/metrics')).status, 403);
  const unknown = await call(stranger, port, 'GET', '/api');
  assert.equal(unknown.status, 403);
  assert.match(unknown.body, /a client it does not know \(127\.0\.0\.9 is not a pod of the mesh\)/);

  // TCP: the TCPRoute TrafficTarget lets the client through; the others never reach the backend.
  const tcpPort = mesh.port('whoami/whoami-tcp:8080');
  assert.equal(await tcpRoundTrip(tcpPort, '127.0.0.2', 'my data'), 'my data');
  assert.equal(await tcpRoundTrip(tcpPort, '127.0.0.3', 'stolen'), '');
  assert.equal(await tcpRoundTrip(tcpPort, '127.0.0.9', 'stolen'), '');
  assert.deepEqual(tcp, { accepted: 1, received: 7 });

  const metrics = await (await fetch(`${mesh.admin}/metrics`)).text();
  const denials = metrics.split('\n').filter((l) => l.startsWith('hostmesh_acl_denied_total')).toSorted();
  assert.deepEqual(denials, [
    'hostmesh_acl_denied_total{destination_namespace="whoami",destination_service="whoami",destination_port="80",source_namespace="",source_service_account=""} 1',
    'hostmesh_acl_denied_total{destination_namespace="whoami",destination_service="whoami",destination_port="80",source_namespace="whoami",source_service_account="intruder"} 2',
    'hostmesh_acl_denied_total{destination_namespace="whoami",destination_service="whoami",destination_port="80",source_namespace="whoami",source_service_account="whoami-client"} 2',
    'hostmesh_acl_denied_total{destination_namespace="whoami",destination_service="whoami-tcp",destination_port="8080",source_namespace="",source_service_account=""} 1',
    'hostmesh_acl_denied_total{destination_namespace="whoami",destination_service="whoami-tcp",destination_port="8080",source_namespace="whoami",source_service_account="intruder"} 1',
  ]);
});

test('ACL mode: adding a TrafficTarget or removing a Pod changes decisions live, on an open keep-alive connection too', async (t) => {
  const { mesh } = await whoami(t, { acl: true });
  const port = mesh.port('whoami/whoami:80');
  const intruder = agentFrom(t, '127.0.0.3');
  const client = agentFrom(t, '127.0.0.2');
  assert.equal((await call(intruder, port, 'GET', '/api')).status, 403);
  assert.equal((await call(client, port, 'GET', '/api')).status, 200);

  await mesh.write('intruder-target.yaml', [
    'apiVersion: access.smi-spec.io/v1alpha3',
    'kind: TrafficTarget',
    'metadata: { name: intruder-api, namespace: whoami }',
    'spec:',
    '  destination: { kind: ServiceAccount, name: whoami-server, namespace: whoami }',
    '  rules: [{ kind: HTTPRouteGroup, name: whoami-routes, matches: [api] }]',
    '  sources: [{ kind: ServiceAccount, name: intruder, namespace: whoami }]',
    '',
  ].join('\n'));
  const now = await call(intruder, port, 'GET', '/api');
  assert.deepEqual([now.status, now.reused], [200, true], 'the same connection, allowed after the TrafficTarget appeared');

  // The client's Pod goes away: its address is no longer anyone.
  const withoutClient = readFileSync(join(mesh.dir, 'whoami.yaml'), 'utf8').replace(/apiVersion: v1\nkind: Pod\nmetadata: \{ name: whoami-client[^]*?status: \{ phase: Running, podIP: 127\.0\.0\.2 \}\n---\n/, '');
  assert.notEqual(withoutClient, readFileSync(join(mesh.dir, 'whoami.yaml'), 'utf8'));
  await mesh.write('whoami.yaml', withoutClient);
  const gone = await call(client, port, 'GET', '/api');
  assert.deepEqual([gone.status, gone.reused], [403, true]);
  assert.match(gone.body, /127\.0\.0\.2 is not a pod of the mesh/);
});
