/**
 * SMI in a cluster, through the controller (real client, fake API server) and a proxy: Traefik
 * Mesh's whoami example (examples/smi) as cluster objects, in ACL mode. Pods give the client
 * identities; TrafficTargets allow one ServiceAccount and deny another (403); a TrafficSplit
 * change moves the traffic; the TrafficTarget CRD, installed after the controller started, is
 * picked up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { agentFrom, call } from '../support/http-from.ts';
import { httpBackend } from '../proxy/helpers.ts';
import { smiResources } from '../support/fake-apiserver-resources.ts';
import type { KubeObject } from '../support/fake-apiserver.ts';
import { eventually, startMesh } from './mesh.ts';
import type { RoutingTable } from '../../src/table/index.ts';

const EXAMPLE = new URL('../../examples/smi/', import.meta.url).pathname;
const TS = 'trafficsplits.split.smi-spec.io';
const TT = 'traffictargets.access.smi-spec.io';

const PLURALS: Record<string, string> = {
  Service: 'services', EndpointSlice: 'endpointslices', Pod: 'pods',
  HTTPRouteGroup: 'httproutegroups.specs.smi-spec.io', TCPRoute: 'tcproutes.specs.smi-spec.io', TrafficSplit: TS, TrafficTarget: TT,
};

function objects(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

const weights = (table: RoutingTable): string => {
  const route = table.routes.find((r) => r.id === 'whoami/whoami:80');
  return (route?.backends ?? []).map((b) => `${b.cluster}=${b.weight}`).join(',');
};

/** The ServiceAccounts the access policy of whoami:80 allows. */
const allowedOn = (table: RoutingTable): string[] =>
  (table.routes.find((r) => r.id === 'whoami/whoami:80')?.access?.allow ?? []).map((a) => `${a.namespace}/${a.serviceAccount}`);

test('ACL mode in a cluster: the TrafficTarget CRD installed later allows the client and still denies the intruder; a TrafficSplit change moves the traffic', async (t) => {
  const v1 = await httpBackend(t, (req, res) => res.end(`v1 ${req.method} ${req.url}`));
  const v2 = await httpBackend(t, (req, res) => res.end(`v2 ${req.method} ${req.url}`));
  // The split and route CRDs serve several versions (the controller reads the newest of them);
  // no TrafficTarget CRD yet.
  const mesh = await startMesh(t, {
    proxies: 1,
    fake: { smi: { TrafficSplit: ['v1alpha2', 'v1alpha3'], HTTPRouteGroup: ['v1alpha2', 'v1alpha3'], TCPRoute: ['v1alpha3'], UDPRoute: [], TrafficTarget: [] } },
    controller: { acl: true, tuning: { backoff: { minMs: 10, maxMs: 200 }, translateCoalesceMs: 5, coalesceMs: 10, maxDelayMs: 50, heartbeatMs: 2000, instance: 'e2e-controller', crdPollMs: 50 } },
  });
  const { fake } = mesh;
  const whoami = readFileSync(`${EXAMPLE}whoami.yaml`, 'utf8').replaceAll('9101', String(v1.port)).replaceAll('9102', String(v2.port));
  const smi = objects(readFileSync(`${EXAMPLE}smi.yaml`, 'utf8'));
  for (const obj of [...objects(whoami), ...smi.filter((o) => o.kind !== 'TrafficTarget')]) fake.create(PLURALS[obj.kind ?? '']!, obj);
  await mesh.everyProxy('whoami split 80/20', (tb) => weights(tb) === 'whoami/whoami-v1:80=80,whoami/whoami-v2:80=20');

  // Without TrafficTargets ACL mode denies everyone; the controller says why.
  const port = mesh.port('whoami/whoami:80');
  const client = agentFrom(t, '127.0.0.2');
  const intruder = agentFrom(t, '127.0.0.3');
  assert.equal((await call(client, port, 'GET', '/api')).status, 403);
  const status = await mesh.status();
  const absent = status.diagnostics.find((d) => d.code === 'crd-absent' && d.object.name === TT);
  assert.equal(absent?.severity, 'error');
  assert.match(absent.message, /ACL mode \(--acl\) denies every request until TrafficTargets can be read/);

  // The CRD is installed (serving v1alpha1 and v1alpha2; the example's objects are v1alpha2).
  for (const def of smiResources({ TrafficSplit: [], HTTPRouteGroup: [], TCPRoute: [], UDPRoute: [], TrafficTarget: ['v1alpha1', 'v1alpha2'] })) fake.registerResource(def);
  for (const obj of smi.filter((o) => o.kind === 'TrafficTarget')) fake.create(TT, obj);
  await mesh.everyProxy('the access policy allowing whoami-client', (tb) => allowedOn(tb).includes('whoami/whoami-client'));
  const table = (await mesh.proxies[0]!.config())!.table;
  assert.deepEqual(allowedOn(table), ['whoami/whoami-client'], 'only the source the TrafficTargets name');
  const allowed = await call(client, port, 'GET', '/api');
  assert.equal(allowed.status, 200);
  assert.match(allowed.body, /^v[12] GET \/api$/);
  assert.equal((await call(client, port, 'GET', '/metrics')).status, 200);
  assert.equal((await call(client, port, 'POST', '/metrics')).status, 403, 'the HTTPRouteGroup allows GET /metrics only');
  const denied = await call(intruder, port, 'GET', '/api');
  assert.equal(denied.status, 403);
  assert.match(denied.body, /from ServiceAccount whoami\/intruder: ACL mode, and no TrafficTarget allows it/);
  assert.equal((await mesh.status()).diagnostics.some((d) => d.code === 'crd-absent' && d.object.name === TT), false);

  // The TrafficSplit moves everything to v2.
  const split = smi.find((o) => o.kind === 'TrafficSplit')!;
  fake.update(TS, { ...split, spec: { service: 'whoami', backends: [{ service: 'whoami-v1', weight: 0 }, { service: 'whoami-v2', weight: 100 }] } });
  await mesh.everyProxy('whoami all to v2', (tb) => weights(tb) === 'whoami/whoami-v1:80=0,whoami/whoami-v2:80=100');
  for (let i = 0; i < 20; i++) {
    const r = await eventually('an answer', async () => call(client, port, 'GET', `/api/${i}`));
    assert.equal(`${r.status} ${r.body}`, `200 v2 GET /api/${i}`);
  }
  assert.equal((await call(intruder, port, 'GET', '/api')).status, 403);
});
