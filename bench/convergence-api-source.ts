/**
 * The convergence bench's full-path change source: writes to the fake API server
 * (test/support/fake-apiserver.ts), which the real Controller watches with client-node's
 * informers, translates and publishes into the bench's Publisher. So a measurement covers
 * API write -> watch event -> informer -> translation -> publish (coalesced) -> watch stream ->
 * proxy validate and apply -> ack.
 *
 * The write is a direct store write on the fake server: the clock starts when the change is
 * committed, as it would be on a real API server once the PATCH returns.
 */
import { pino } from 'pino';
import { Controller } from '../src/controller/controller.ts';
import type { EndpointSliceObject, PodObject, ServiceObject } from '../src/controller/objects.ts';
import { SERVICE_NAME_LABEL } from '../src/controller/objects.ts';
import type { Publisher } from '../src/controller/push/publisher.ts';
import type { RoutingTable } from '../src/table/index.ts';
import { FakeApiServer } from '../test/support/fake-apiserver.ts';
import type { ChangeSource } from './convergence-source.ts';

const NAMESPACE = 'bench';
const MESH_NAMESPACE = 'hostmesh';
/** Below the ephemeral range, so the bench's own connections never hold a listener's port. */
const PORT_RANGE: [number, number] = [20000, 31999];
const SETTLE_MS = 500;
/** With `pods`: how long after the Pod write the EndpointSlice is written (the clock starts before the Pod write). */
const POD_TO_SLICE_MS = 5;
const PREPARE_LIMIT_MS = 600_000;

function service(i: number): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], selector: { app: `svc-${i}` } },
  };
}

const address = (i: number, d: number): string => `10.${(i >> 8) & 0xff}.${i & 0xff}.${d}`;

/** The pod behind endpoint `d` of Service `i`, as kubelet reports it (`ready` its Ready condition). */
function pod(i: number, d: number, ready: boolean): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `svc-${i}-${d}`, namespace: NAMESPACE, labels: { app: `svc-${i}` } },
    spec: { serviceAccountName: `svc-${i}`, nodeName: `node-${d}` },
    status: { phase: 'Running', podIP: address(i, d), podIPs: [{ ip: address(i, d) }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  } as PodObject;
}

function slice(i: number, endpoints: readonly number[]): EndpointSliceObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-a`, namespace: NAMESPACE, labels: { [SERVICE_NAME_LABEL]: `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: endpoints.map((d) => ({ addresses: [address(i, d)], conditions: { ready: true }, nodeName: `node-${d}` })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}


/**
 * `pods`: each Service's endpoints have Pods, and each change first writes the Ready condition
 * of the first endpoint's pod (as kubelet does before the EndpointSlice controller moves the
 * endpoint), so the controller sees a Pod event and an EndpointSlice event per change.
 */
export async function apiServerSource(publisher: Publisher, options: { pods?: boolean; endpoints?: number } = {}): Promise<ChangeSource> {
  /** Endpoints per Service (each with its pod with `pods`): 1, 2, ... */
  const ENDPOINTS = Array.from({ length: options.endpoints ?? 3 }, (_, k) => k + 1);
  const fake = await FakeApiServer.start({ historyLimit: 100_000 });
  let lastPublish = Date.now();
  publisher.subscribe(() => { lastPublish = Date.now(); });
  const publishCalls: number[] = [];
  const controller = new Controller({
    kubeConfig: fake.kubeconfig(),
    meshNamespace: MESH_NAMESPACE,
    proxySelector: { 'app.kubernetes.io/component': 'proxy' },
    zones: ['hostmesh'],
    portRange: PORT_RANGE,
    patchDns: false,
    publish: (content, diagnostics, changes) => {
      publishCalls.push(performance.timeOrigin + performance.now());
      if (publishCalls.length > 1000) publishCalls.splice(0, 500);
      publisher.publish(content, diagnostics, changes);
    },
    log: pino({ level: process.env.HOSTMESH_LOG_LEVEL ?? 'warn' }),
    instance: 'bench',
  });
  await controller.start();
  let size = 0;
  // Every change moves one slice's port to a value never used before, so no change is a no-op.
  let serial = 0;
  let latest = { cluster: '', port: 0 };

  /**
   * Waits until the published table routes `size` services, each with a DNS name (which appears
   * once its shadow has a ClusterIP: all shadow writes done), and nothing was published for a while.
   */
  const settled = async (): Promise<void> => {
    const deadline = Date.now() + PREPARE_LIMIT_MS;
    for (;;) {
      const t = publisher.current?.table;
      const complete = t !== undefined && t.routes.length === size && t.dns.services.length === size;
      if (complete && Date.now() - lastPublish >= SETTLE_MS) return;
      if (Date.now() > deadline) throw new Error(`the controller did not settle on ${size} services within ${PREPARE_LIMIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  return {
    name: 'fake API server -> informers -> translation -> publish()',
    async prepare(services) {
      for (let i = size; i < services; i++) {
        fake.create('services', service(i));
        fake.create('endpointslices', slice(i, ENDPOINTS));
        if (options.pods) for (const d of ENDPOINTS) fake.create('pods', pod(i, d, true));
      }
      for (let i = services; i < size; i++) {
        if (options.pods) for (const d of ENDPOINTS) fake.delete('pods', `svc-${i}-${d}`, NAMESPACE);
        fake.delete('endpointslices', `svc-${i}-a`, NAMESPACE);
        fake.delete('services', `svc-${i}`, NAMESPACE);
      }
      size = services;
      await settled();
    },
    async change(n) {
      const i = n % Math.max(1, size);
      serial++;
      latest = { cluster: `${NAMESPACE}/svc-${i}:80`, port: 1024 + (serial % 60000) };
      if (options.pods) {
        // kubelet's status write comes first; the EndpointSlice controller follows it.
        fake.update('pods', pod(i, ENDPOINTS[0]!, serial % 2 === 0));
        await new Promise((resolve) => setTimeout(resolve, POD_TO_SLICE_MS));
      }
      fake.patch('endpointslices', `svc-${i}-a`, NAMESPACE, { ports: [{ name: 'http', port: latest.port, protocol: 'TCP' }] });
    },
    publishCalls,
    contains(table: RoutingTable) {
      return table.clusters.some((c) => c.id === latest.cluster && c.endpoints[0]?.port === latest.port);
    },
    async close() {
      await controller.stop();
      await fake.stop();
    },
  };
}
