/** fast-check generators of cluster objects for the translation properties. */
import fc from 'fast-check';
import type { ClusterState, EndpointSliceObject, ServiceObject } from '../../../src/controller/objects.ts';

// Generators: few names so Services refer to each other; mostly valid values with some that are
// invalid or not of the expected type at all; slices mostly for Services that exist.
const mostly = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: odd, weight: 1 });
const namespace = mostly(fc.constant('a'), fc.constantFrom('b', 'kube-system'));
const name = fc.constantFrom('x', 'y', 'z', 'w');
const annotationPair = mostly(
  fc.constantFrom<[string, string]>(
    ['hostmesh.io/traffic-type', 'tcp'], ['hostmesh.io/traffic-type', 'udp'], ['mesh.traefik.io/traffic-type', 'tcp'],
    ['hostmesh.io/scheme', 'h2c'], ['hostmesh.io/dial-timeout', '2s'], ['hostmesh.io/retry-count', '3'], ['mesh.traefik.io/retry-attempts', '2'],
    ['hostmesh.io/retry-on', "path('/a')"], ['hostmesh.io/load-balancer', 'cookie'], ['hostmesh.io/load-balancer', 'header:X'],
    ['hostmesh.io/rate-limit-rate', '10r/s'], ['hostmesh.io/traffic-split-weights', 'x=1,y=1'], ['hostmesh.io/traffic-split-weights', 'y=0,z=2,w=1'],
    ['hostmesh.io/traffic-split-expression', "header({'a': 'b'})"], ['hostmesh.io/traffic-split-new-service', 'y'],
    ['hostmesh.io/traffic-split-old-service', 'z'], ['hostmesh.io/mirror-service', 'w'], ['hostmesh.io/mirror-service', 'x'],
    ['hostmesh.io/mirror-percent', '50'], ['hostmesh.io/sticky-cookie', 's'], ['hostmesh.io/maintenance', 'true'],
    ['hostmesh.io/circuit-breaker-expression', 'NetworkErrorRatio() > 0.5'], ['hostmesh.io/mesh', 'false'],
  ),
  fc.tuple(fc.constantFrom('hostmesh.io/dial-timeout', 'hostmesh.io/retry-on', 'hostmesh.io/mesh', 'hostmesh.io/traffic-split-weights', 'hostmesh.io/bogus'),
    fc.oneof(fc.constantFrom('soon', '-1', 'method(', '', 'x=0'), fc.string({ maxLength: 6 }))),
);
const preset = fc.constantFrom<Record<string, string>>(
  {},
  {},
  { 'hostmesh.io/traffic-split-expression': "header({'a': 'b'})", 'hostmesh.io/traffic-split-new-service': 'y', 'hostmesh.io/traffic-split-old-service': 'z' },
  { 'mesh.caddyserver.com/traffic-split-expression': 'true', 'mesh.caddyserver.com/traffic-split-new-service': 'w' },
  { 'hostmesh.io/traffic-split-weights': 'x=1,y=1,z=1' },
  { 'hostmesh.io/mirror-service': 'w', 'hostmesh.io/mirror-percent': '10' },
);
const annotations = fc.tuple(preset, fc.array(annotationPair, { maxLength: 3 })).map(([p, pairs]) => ({ ...p, ...Object.fromEntries(pairs) }));
const port = fc.record({
  name: fc.constantFrom('http', 'grpc', 'dns', '', undefined),
  port: mostly(fc.constantFrom(1, 1, 1, 2, 3), fc.constantFrom(0, 70000, '80' as unknown as number)),
  targetPort: mostly(fc.constantFrom(1, 2, 8080, 'http', 'grpc', undefined), fc.constantFrom('', 0)),
  protocol: mostly(fc.constantFrom('TCP', 'TCP', 'UDP', undefined, undefined), fc.constantFrom('SCTP', 'udp')),
  appProtocol: fc.constantFrom('kubernetes.io/h2c', 'https', undefined),
}).map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as NonNullable<NonNullable<ServiceObject['spec']>['ports']>[number]);
export const service: fc.Arbitrary<ServiceObject> = fc.record({
  namespace,
  name,
  annotations,
  managed: mostly(fc.constant(false), fc.constant(true)),
  type: mostly(fc.constant(undefined), fc.constant('ExternalName')),
  ports: mostly(fc.array(mostly(port, fc.constant(null as never)), { minLength: 1, maxLength: 3 }), fc.constant(undefined)),
}).map((s) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: s.name,
    namespace: s.namespace,
    annotations: s.annotations,
    ...(s.managed ? { labels: { 'app.kubernetes.io/managed-by': 'hostmesh' } } : {}),
  },
  spec: { ...(s.type ? { type: s.type } : {}), ...(s.ports ? { ports: s.ports } : {}) },
}));
const slice = (namespace: string, owner: string): fc.Arbitrary<EndpointSliceObject> => fc.record({
  suffix: fc.integer({ min: 0, max: 3 }),
  addressType: mostly(fc.constantFrom('IPv4', 'IPv6', undefined), fc.constant('FQDN')),
  endpoints: fc.array(fc.record({
    addresses: fc.array(mostly(fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1'), fc.constantFrom('pod.local', '', '999.1.1.1')), { minLength: 1, maxLength: 2 }),
    ready: fc.constantFrom(true, true, false, null, undefined),
  }), { maxLength: 3 }),
  ports: mostly(fc.array(fc.record({
    name: fc.constantFrom('http', 'grpc', '', null, undefined),
    port: mostly(fc.constantFrom(1, 2, 8080, null), fc.constant(0)),
    protocol: fc.constantFrom('TCP', 'UDP', undefined),
  }), { maxLength: 3 }), fc.constant(null as never)),
}).map((s) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${owner}-${s.suffix}`, namespace, labels: { 'kubernetes.io/service-name': owner } },
  ...(s.addressType ? { addressType: s.addressType } : {}),
  endpoints: s.endpoints.map((e) => ({ addresses: e.addresses, ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
  ports: s.ports as EndpointSliceObject['ports'],
}));
export const state: fc.Arbitrary<ClusterState> = fc.array(service, { minLength: 2, maxLength: 8 }).chain((services) => fc.record({
  services: fc.constant(services),
  endpointSlices: fc.array(fc.oneof(
    { arbitrary: fc.constantFrom(...(services.length ? services : [undefined])).chain((s) => slice(s?.metadata.namespace ?? 'a', s?.metadata.name ?? 'x')), weight: 4 },
    { arbitrary: fc.tuple(namespace, name).chain(([ns, n]) => slice(ns, n)), weight: 1 },
  ), { maxLength: 6 }),
}));
