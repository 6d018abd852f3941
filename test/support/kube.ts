/** Helpers for tests that talk to test/support/fake-apiserver.ts: object builders and waiting. */
import type { TestContext } from 'node:test';
import { FakeApiServer } from './fake-apiserver.ts';
import type { FakeApiServerOptions } from './fake-apiserver.ts';
import type { EndpointSliceObject, GatewayRouteObject, PodObject, ServiceObject, ServicePort } from '../../src/controller/objects.ts';
import { SERVICE_NAME_LABEL } from '../../src/controller/objects.ts';

/** Starts a fake API server that the test stops when it ends. */
export async function startFakeApiServer(t: TestContext, options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const fake = await FakeApiServer.start(options);
  t.after(() => fake.stop());
  return fake;
}

export function service(
  namespace: string,
  name: string,
  extra: { ports?: ServicePort[]; annotations?: Record<string, string>; labels?: Record<string, string>; selector?: Record<string, string> } = {},
): ServiceObject {
  const metadata: ServiceObject['metadata'] = { name, namespace };
  if (extra.annotations) metadata.annotations = extra.annotations;
  if (extra.labels) metadata.labels = extra.labels;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: { ports: extra.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }], selector: extra.selector ?? { app: name } },
  };
}

/** An EndpointSlice of `serviceName` with ready endpoints at the given IPs. */
export function endpointSlice(
  namespace: string,
  serviceName: string,
  sliceName: string,
  ips: string[],
  ports: { name?: string; port: number; protocol?: string }[] = [{ name: 'http', port: 8080 }],
): EndpointSliceObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName, namespace, labels: { [SERVICE_NAME_LABEL]: serviceName } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-1' })),
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
  };
}

/**
 * Polls `probe` until it returns something other than undefined/false, and returns that.
 * The timeout is a safety net for a broken test, never a measurement.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function names(objects: readonly { metadata?: { namespace?: string; name?: string } }[]): string[] {
  return objects.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`).toSorted();
}

/** A running Pod at `ip` (status.podIPs set as the kubelet would). */
export function pod(namespace: string, name: string, ip: string, serviceAccount?: string): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: serviceAccount === undefined ? {} : { serviceAccountName: serviceAccount },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** An HTTPRoute (or GRPCRoute) attached to Service `parent` in the route's namespace. */
export function gatewayRoute(
  kind: 'HTTPRoute' | 'GRPCRoute',
  namespace: string,
  name: string,
  parent: string,
  rules: Record<string, unknown>[],
): GatewayRouteObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind,
    metadata: { name, namespace },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: parent }], rules },
  };
}
