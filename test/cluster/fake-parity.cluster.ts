/**
 * The fake API server (test/support/fake-apiserver.ts) against the real kube-apiserver: the same
 * requests, sent raw, must get the same HTTP status, Status reason and invalid fields. Each case
 * is something the controller or the tests rely on; a difference found here is fixed in the fake
 * (or, where the fake differs on purpose, listed in its header and in `DELIBERATE`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { clusterBinaries } from './build.ts';
import { ADMIN_TOKEN, Cluster } from './cluster.ts';

const bins = await clusterBinaries();
const skip = typeof bins === 'string' ? bins : false;
if (skip !== false) console.log(`cluster tier skipped: ${skip}`);

interface Answer { status: number; reason: string; fields: string[]; body: Record<string, any> }

interface Target { base: string; token: string }

function send(target: Target, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const url = new URL(path, target.base);
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${target.token}`, accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(payload.length) }) };
    const req = requester(url, { method, rejectUnauthorized: false, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        let parsed: Record<string, any> = {};
        try {
          parsed = JSON.parse(text) as Record<string, any>;
        } catch {
          parsed = { text };
        }
        const isStatus = parsed['kind'] === 'Status';
        resolve({
          status: res.statusCode ?? 0,
          reason: isStatus ? String(parsed['reason'] ?? '') : '',
          fields: isStatus ? ((parsed['details']?.causes ?? []) as { field?: string }[]).map((c) => c.field ?? '').toSorted() : [],
          body: parsed,
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const NS = 'parity';
const svcPath = `/api/v1/namespaces/${NS}/services`;
const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const cmPath = `/api/v1/namespaces/${NS}/configmaps`;

function service(name: string, ports: object[] = [{ name: 'http', port: 80 }], extra: object = {}): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports, ...extra } };
}

function slice(name: string, addresses: string[], extra: object = {}): object {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, labels: { 'kubernetes.io/service-name': 'x' } }, addressType: 'IPv4', endpoints: addresses.map((a) => ({ addresses: [a] })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], ...extra };
}

interface Case {
  name: string;
  /** Requests whose answers do not matter (setup), then the one compared. */
  setup?: (t: Target) => Promise<unknown>;
  run: (t: Target) => Promise<Answer>;
}

const CASES: Case[] = [
  { name: 'get a missing Service', run: (t) => send(t, 'GET', `${svcPath}/missing`) },
  { name: 'create a Service in a missing Namespace', run: (t) => send(t, 'POST', '/api/v1/namespaces/no-such-ns/services', service('a')) },
  { name: 'create a Service with an invalid name', run: (t) => send(t, 'POST', svcPath, service('Bad_Name')) },
  { name: 'create a Service twice', setup: (t) => send(t, 'POST', svcPath, service('twice')), run: (t) => send(t, 'POST', svcPath, service('twice')) },
  { name: 'a Service whose namespace differs from the URL', run: (t) => send(t, 'POST', svcPath, { ...service('other'), metadata: { name: 'other', namespace: 'default' } }) },
  { name: 'a Service port 0', run: (t) => send(t, 'POST', svcPath, service('port-zero', [{ name: 'http', port: 0 }])) },
  { name: 'a Service with two unnamed ports', run: (t) => send(t, 'POST', svcPath, service('unnamed', [{ port: 80 }, { port: 81 }])) },
  { name: 'a Service with a duplicate port name', run: (t) => send(t, 'POST', svcPath, service('dup-name', [{ name: 'a', port: 80 }, { name: 'a', port: 81 }])) },
  { name: 'a Service without ports', run: (t) => send(t, 'POST', svcPath, service('no-ports', [])) },
  { name: 'a Service with a bad internalTrafficPolicy', run: (t) => send(t, 'POST', svcPath, service('itp', undefined, { internalTrafficPolicy: 'Node' })) },
  { name: 'a Service with a ClusterIP outside the range', run: (t) => send(t, 'POST', svcPath, service('outside', undefined, { clusterIP: '10.200.0.5' })) },
  {
    name: 'an update with a stale resourceVersion',
    setup: async (t) => {
      const created = await send(t, 'POST', svcPath, service('stale'));
      await send(t, 'PUT', `${svcPath}/stale`, created.body);
    },
    run: async (t) => {
      const current = await send(t, 'GET', `${svcPath}/stale`);
      const stale = { ...current.body, metadata: { ...current.body['metadata'], resourceVersion: String(Number(current.body['metadata'].resourceVersion) - 1) } };
      return send(t, 'PUT', `${svcPath}/stale`, stale);
    },
  },
  {
    name: 'an update that changes the ClusterIP',
    setup: (t) => send(t, 'POST', svcPath, service('immutable')),
    run: async (t) => {
      const current = await send(t, 'GET', `${svcPath}/immutable`);
      const ip = current.body['spec'].clusterIP as string;
      const other = ip.endsWith('.77') ? ip.replace(/\.77$/, '.78') : ip.replace(/\.\d+$/, '.77');
      return send(t, 'PUT', `${svcPath}/immutable`, { ...current.body, spec: { ...current.body['spec'], clusterIP: other, clusterIPs: [other] } });
    },
  },
  {
    name: 'a merge patch that renames the object',
    setup: (t) => send(t, 'POST', svcPath, service('renamed')),
    run: (t) => send(t, 'PATCH', `${svcPath}/renamed`, { metadata: { name: 'renamed-2' } }, 'application/merge-patch+json'),
  },
  {
    name: 'an update that renames the object',
    setup: (t) => send(t, 'POST', svcPath, service('put-renamed')),
    run: async (t) => {
      const current = await send(t, 'GET', `${svcPath}/put-renamed`);
      return send(t, 'PUT', `${svcPath}/put-renamed`, { ...current.body, metadata: { ...current.body['metadata'], name: 'put-renamed-2' } });
    },
  },
  { name: 'a patch with an unsupported content type', setup: (t) => send(t, 'POST', svcPath, service('ctype')), run: (t) => send(t, 'PATCH', `${svcPath}/ctype`, '{}', 'text/plain') },
  { name: 'a delete with a wrong uid precondition', setup: (t) => send(t, 'POST', svcPath, service('precondition')), run: (t) => send(t, 'DELETE', `${svcPath}/precondition`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }) },
  { name: 'a list with a malformed label selector', run: (t) => send(t, 'GET', `${svcPath}?labelSelector=${encodeURIComponent('a in (')}`) },
  { name: 'a list with an unknown field selector', run: (t) => send(t, 'GET', `${svcPath}?fieldSelector=spec.nope%3Dx`) },
  { name: 'an EndpointSlice with a malformed address', run: (t) => send(t, 'POST', slicePath, slice('bad-ip', ['not-an-ip'])) },
  { name: 'an EndpointSlice without addresses', run: (t) => send(t, 'POST', slicePath, { ...slice('no-addr', []), endpoints: [{ addresses: [] }] }) },
  { name: 'an EndpointSlice with a bad addressType', run: (t) => send(t, 'POST', slicePath, slice('bad-type', ['192.0.2.1'], { addressType: 'IPv5' })) },
  { name: 'an EndpointSlice port 0', run: (t) => send(t, 'POST', slicePath, slice('port-zero', ['192.0.2.1'], { ports: [{ name: 'http', port: 0, protocol: 'TCP' }] })) },
  { name: 'an EndpointSlice with an IPv6 address in an IPv4 slice', run: (t) => send(t, 'POST', slicePath, slice('family', ['2001:db8::1'])) },
  { name: 'an EndpointSlice with two unnamed ports', run: (t) => send(t, 'POST', slicePath, slice('two-ports', ['192.0.2.1'], { ports: [{ port: 80, protocol: 'TCP' }, { port: 81, protocol: 'TCP' }] })) },
  { name: 'an EndpointSlice with a loopback address', run: (t) => send(t, 'POST', slicePath, slice('loopback', ['127.0.0.1'])) },
  { name: 'a ConfigMap with a bad key', run: (t) => send(t, 'POST', cmPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-key' }, data: { 'a b': 'x' } }) },
  { name: 'a Lease whose renewTime has milliseconds (a JavaScript Date)', run: (t) => send(t, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'millis' }, spec: { holderIdentity: 'a', renewTime: '2026-12-06T13:23:55.810Z' } }) },
  { name: 'a Lease whose renewTime has microseconds', run: (t) => send(t, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'micros' }, spec: { holderIdentity: 'a', renewTime: '2026-12-06T13:23:55.810000Z' } }) },
  { name: 'an unknown resource', run: (t) => send(t, 'GET', `/api/v1/namespaces/${NS}/nonsense`) },
];

/** Where the fake differs from the real server on purpose (see its header). */
const DELIBERATE = new Set(['an EndpointSlice with a loopback address']);

describe('the fake API server answers like the real kube-apiserver', { skip }, () => {
  let cluster: Cluster;
  let fake: FakeApiServer;
  let real: Target;
  let fakeTarget: Target;

  before(async () => {
    if (typeof bins === 'string') return;
    cluster = await Cluster.start(bins);
    fake = await FakeApiServer.start({ token: 'fake-token', strictNamespaces: true });
    real = { base: cluster.server, token: ADMIN_TOKEN };
    fakeTarget = { base: fake.url, token: 'fake-token' };
    for (const t of [real, fakeTarget]) {
      const r = await send(t, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });

  after(async () => {
    await fake?.stop();
    await cluster?.stop();
  });

  test('status, reason and invalid fields match for every case', async () => {
    const differences: string[] = [];
    for (const c of CASES) {
      const answers: Answer[] = [];
      for (const t of [real, fakeTarget]) {
        await c.setup?.(t);
        answers.push(await c.run(t));
      }
      const [r, f] = answers as [Answer, Answer];
      const same = r.status === f.status && r.reason === f.reason && JSON.stringify(r.fields) === JSON.stringify(f.fields);
      if (DELIBERATE.has(c.name)) {
        assert.ok(!same, `${c.name}: the fake now answers like the real server; drop it from DELIBERATE`);
        continue;
      }
      if (!same) differences.push(`${c.name}: real ${r.status} ${r.reason} [${r.fields.join(', ')}] ${JSON.stringify(r.body).slice(0, 300)}\n    fake ${f.status} ${f.reason} [${f.fields.join(', ')}] ${JSON.stringify(f.body).slice(0, 300)}`);
    }
    assert.deepEqual(differences, []);
  });
});
