/**
 * Leader election (docs/controller.md, "Two replicas"): the Lease in the fake API server, one
 * leader at a time, takeover after a crash or a clean stop, a standby that sends proxies away
 * and writes nothing, and proxies that keep every route and port across the failover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { createLogger } from '../../src/common/log.ts';
import { LeaderElector } from '../../src/controller/leader/election.ts';
import { startControllerCommand } from '../../src/cli/controller.ts';
import type { RunningController } from '../../src/cli/controller.ts';
import { startProxyCommand } from '../../src/cli/proxy.ts';
import { startFakeApiServer, waitFor } from '../support/kube.ts';
import { freePort } from '../proxy/helpers.ts';
import { backendSlice, webService, portRange, get, MESH_NAMESPACE, PROXY_SELECTOR, TOKEN } from '../e2e/mesh.ts';

const log = createLogger('leader-test', process.env.HOSTMESH_LOG_LEVEL ?? 'silent');
const FAST = { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 150 };

test('one leader at a time: takeover after a crash and after a clean release', async (t) => {
  const fake = await startFakeApiServer(t);
  let leaders = 0;
  let most = 0;
  const history: string[] = [];
  const elector = (identity: string): LeaderElector => {
    const e = new LeaderElector({
      kubeConfig: fake.kubeconfig(), namespace: 'hostmesh', identity, timings: FAST, log,
      onStartedLeading: () => { leaders++; most = Math.max(most, leaders); history.push(`+${identity}`); },
      onStoppedLeading: () => { leaders--; history.push(`-${identity}`); },
    });
    t.after(() => e.stop(false));
    return e;
  };
  const a = elector('a');
  a.start();
  await waitFor('a to lead', () => a.isLeader || undefined);
  const b = elector('b');
  b.start();
  await waitFor('b to see a as the leader', () => b.leader === 'a' || undefined);
  assert.equal(b.isLeader, false);

  await a.stop(false); // a crash: the Lease is not released
  await waitFor('b to take over once the Lease expired', () => b.isLeader || undefined, 20_000);
  const lease = await fake.kubeconfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'hostmesh-controller', namespace: 'hostmesh' });
  assert.equal(lease.spec?.holderIdentity, 'b');
  assert.equal(lease.spec?.leaseTransitions, 1);
  assert.equal(lease.spec?.leaseDurationSeconds, 1);

  const c = elector('c');
  c.start();
  await waitFor('c to see b', () => c.leader === 'b' || undefined);
  await b.stop(true); // clean: released at once
  await waitFor('c to take over the released Lease', () => c.isLeader || undefined, 20_000);
  assert.equal(most, 1, `never two leaders at once: ${history.join(' ')}`);
  assert.deepEqual(history, ['+a', '-a', '+b', '-b', '+c']);
});

test('a leader that cannot renew steps down before the Lease expires', async (t) => {
  const fake = await startFakeApiServer(t);
  let leading = false;
  const e = new LeaderElector({
    kubeConfig: fake.kubeconfig(), namespace: 'hostmesh', identity: 'a', timings: FAST, log,
    onStartedLeading: () => { leading = true; }, onStoppedLeading: () => { leading = false; },
  });
  t.after(() => e.stop(false));
  e.start();
  await waitFor('a to lead', () => leading || undefined);
  fake.failNext('get', { resource: 'leases', code: 500, times: 1000 });
  await waitFor('a to step down', () => !leading || undefined, 20_000);
  assert.equal(e.isLeader, false);
});

test('two controller replicas: the standby writes nothing and forwards proxies to the leader; killing the leader loses no route and moves no port', async (t) => {
  const fake = await startFakeApiServer(t);
  const backend = createHttpServer((_req, res) => res.end('web'));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => backend.close(resolve)));
  const backendPort = (backend.address() as AddressInfo).port;
  fake.create('services', webService('shop', 'web'));
  fake.create('endpointslices', backendSlice('shop', 'web', 'web-1', backendPort));

  const range = portRange();
  const replicas: RunningController[] = [];
  const start = async (identity: string): Promise<RunningController> => {
    const port = await freePort();
    const r = await startControllerCommand({
      listen: { host: '127.0.0.1', port },
      token: TOKEN,
      kubeConfig: fake.kubeconfig({ token: `controller-${identity}` }),
      meshNamespace: MESH_NAMESPACE,
      proxySelector: PROXY_SELECTOR,
      zones: ['hostmesh'],
      portRange: range,
      patchDns: false,
      leaderElection: { identity, timings: FAST, address: `http://127.0.0.1:${port}` },
      log: log.child({ replica: identity }),
      tuning: { backoff: { minMs: 10, maxMs: 200 }, translateCoalesceMs: 5, coalesceMs: 10, maxDelayMs: 50, heartbeatMs: 500, instance: identity },
    });
    replicas.push(r);
    t.after(() => r.close({ release: false }));
    return r;
  };
  const a = await start('a');
  await a.ready;
  const b = await start('b');
  await waitFor('b to see a lead', () => b.elector?.leader === 'a' || undefined);

  // The standby runs no controller and forwards proxies to the leader's advertised address.
  assert.equal(b.controller, undefined);
  const readyz = await get(`${b.url}/readyz`);
  assert.equal(readyz.status, 200);
  assert.match(readyz.body, /standby: the leader is a; forwarding proxies to http:\/\/127\.0\.0\.1:\d+/);
  const viaB = await get(`${b.url}/v1/status`, { authorization: `Bearer ${TOKEN}` });
  assert.equal(viaB.status, 200);
  assert.equal((JSON.parse(viaB.body) as { epoch: string }).epoch, a.publisher.epoch, 'the status is the leader\'s');
  // The proxy talks to the standby (as through a Service that picked it).
  const url = b.url;
  const stateDir = await mkdtemp(join(tmpdir(), 'hostmesh-leader-'));
  t.after(() => rm(stateDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  const proxy = await startProxyCommand({
    controllerUrl: url, node: 'node-1', token: TOKEN, stateDir, bind: '127.0.0.1',
    admin: { host: '127.0.0.1', port: 0 }, dns: { host: '127.0.0.1', port: 0 }, workers: 1, accessLog: false,
    log: log.child({ node: 'node-1' }), reusePort: true, tuning: { backoff: { initialMs: 20, maxMs: 200 } },
  });
  t.after(() => proxy.close());
  const served = (): { epoch: string; port: number | undefined } | undefined => {
    const cur = proxy.engine.current?.table;
    return cur && { epoch: cur.epoch, port: cur.listeners.find((l) => l.route === 'shop/web:80')?.port };
  };
  await waitFor('the proxy to serve shop/web from a', () => (served()?.epoch === a.publisher.epoch && served()?.port !== undefined) || undefined);
  const port = served()!.port!;
  assert.equal((await get(`http://127.0.0.1:${port}/`)).body, 'web');

  // Traffic keeps flowing through the failover.
  let failures = 0;
  let requests = 0;
  const state = { polling: true };
  const poll = (async () => {
    while (state.polling) {
      requests++;
      const r = await get(`http://127.0.0.1:${port}/`).catch(() => ({ status: 0, body: '' }));
      if (r.status !== 200 || r.body !== 'web') failures++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  const crashAt = fake.requests.length;
  await a.close({ release: false }); // the leader dies without releasing the Lease
  await waitFor('b to lead', () => b.elector?.isLeader || undefined, 20_000);
  await b.ready;
  await waitFor('the proxy to follow b', () => served()?.epoch === b.publisher.epoch || undefined, 20_000);
  assert.equal(served()!.port, port, 'the port did not move');
  // The new leader writes: a new Service gets its shadow from b.
  fake.create('services', webService('shop', 'api'));
  await waitFor('a route for shop/api', () => proxy.engine.current?.table.routes.some((r) => r.id === 'shop/api:80') || undefined, 20_000);
  // The route can reach the proxy before the shadow write is made (a lone change is published at once).
  await waitFor('b to write the shadow of shop/api', () => fake.requests.some((r, i) => i > crashAt && r.verb === 'create' && r.resource === 'services' && r.namespace === MESH_NAMESPACE && r.user === 'controller-b') || undefined, 20_000);
  state.polling = false;
  await poll;
  assert.equal(failures, 0, `${failures} of ${requests} requests failed during the failover`);

  const writes = fake.requests
    .map((r, i) => ({ ...r, i }))
    .filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb) && r.resource === 'services' && r.namespace === MESH_NAMESPACE);
  const by = (u: string): number[] => writes.filter((w) => w.user === `controller-${u}`).map((w) => w.i);
  assert.ok(by('a').length > 0, 'a wrote the first shadow');
  assert.ok(by('b').length > 0, 'b wrote the shadow of shop/api');
  assert.ok(Math.max(...by('a')) < crashAt, 'a wrote nothing after it died');
  assert.ok(Math.min(...by('b')) > crashAt, 'b wrote nothing while it stood by');
});
