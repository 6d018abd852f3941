/**
 * Upstream's mesh basics: reachability, splitting by path, frontends, parentRef ports and
 * consumer routes (conformance/tests/mesh/mesh-*.go, with their manifests).
 */
import { CONSUMER_NS, MESH_NS } from '../support/mesh.ts';
import { runCases } from '../support/expect.ts';
import type { ExpectedResponse } from '../support/expect.ts';
import { F, backend, exact, httpRoute, responseHeaderSet, serviceParent } from '../support/suite.ts';
import type { ConformanceTest } from '../support/suite.ts';

export const MeshBasic: ConformanceTest = {
  shortName: 'MeshBasic',
  description: 'A mesh client can communicate with a mesh server, with no configuration applied.',
  features: [F.Mesh],
  manifests: '',
  run: async (mesh, t) => {
    const client = mesh.client('v1');
    const cases: ExpectedResponse[] = [{ request: { host: 'echo', method: 'GET' }, response: { statusCodes: [200] } }];
    await runCases(client, t, cases);
  },
};

export const MeshTrafficSplit: ConformanceTest = {
  shortName: 'MeshTrafficSplit',
  description: 'A mesh client can send traffic to a Service which is split between two versions.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('mesh-split', {
    parentRefs: [serviceParent('echo')],
    rules: [
      { matches: [exact('/v1')], backendRefs: [backend('echo-v1', 80)] },
      { matches: [exact('/v2')], backendRefs: [backend('echo-v2', 80)] },
    ],
  }),
  run: async (mesh, t) => {
    const client = mesh.client('v1');
    const cases: ExpectedResponse[] = [
      { request: { host: 'echo', method: 'GET', path: '/v1' }, response: { statusCodes: [200] }, backend: 'echo-v1' },
      { request: { host: 'echo', method: 'GET', path: '/v2' }, response: { statusCodes: [200] }, backend: 'echo-v2' },
    ];
    await runCases(client, t, cases);
  },
};

const frontendRoute = httpRoute('mesh-split-v1', {
  parentRefs: [serviceParent('echo-v2')],
  rules: [{ filters: [responseHeaderSet('X-Header-Set', 'set')], backendRefs: [backend('echo-v2', 80)] }],
});

export const MeshFrontend: ConformanceTest = {
  shortName: 'MeshFrontend',
  description: 'Mesh rules apply only to the associated frontend (the Service), not to the pod addressed directly.',
  features: [F.Mesh, F.HTTPRoute, F.HTTPRouteResponseHeaderModification],
  manifests: frontendRoute,
  run: async (mesh, t) => {
    const client = mesh.client('v1');
    const v2 = mesh.client('v2').pod;
    const cases: ExpectedResponse[] = [
      { testCaseName: 'Send to service', request: { host: 'echo-v2', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } }, backend: 'echo-v2' },
      { testCaseName: 'Send to pod IP', request: { host: `${v2.address}:8080`, method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v2' },
    ];
    await runCases(client, t, cases);
  },
};

export const MeshFrontendHostname: ConformanceTest = {
  shortName: 'MeshFrontendHostname',
  description: 'A mesh parentRef matches the Service address, not the Host header.',
  features: [F.Mesh, F.MeshClusterIPMatching, F.HTTPRoute, F.HTTPRouteResponseHeaderModification],
  manifests: frontendRoute,
  run: async (mesh, t) => {
    const client = mesh.client('v1');
    const cases: ExpectedResponse[] = [
      { testCaseName: 'Send to service with wrong hostname', request: { host: 'echo-v2', headers: { Host: 'echo-v1' }, method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } }, backend: 'echo-v2' },
      { testCaseName: 'Send to other service with matching hostname', request: { host: 'echo-v1', headers: { Host: 'echo-v2' }, method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v1' },
    ];
    await runCases(client, t, cases);
  },
};

export const MeshPorts: ConformanceTest = {
  shortName: 'MeshPorts',
  description: "A mesh route can optionally configure 'port' in parentRef.",
  features: [F.Mesh, F.HTTPRoute, F.HTTPRouteParentRefPort, F.HTTPRouteResponseHeaderModification],
  manifests: [
    httpRoute('mesh-split-v1', {
      parentRefs: [serviceParent('echo-v1', 80)],
      rules: [{ filters: [responseHeaderSet('X-Header-Set', 'v1')], backendRefs: [backend('echo-v1', 80)] }],
    }),
    httpRoute('mesh-split-v2', {
      parentRefs: [serviceParent('echo-v2')],
      rules: [{ filters: [responseHeaderSet('X-Header-Set', 'v2')], backendRefs: [backend('echo-v2', 80)] }],
    }),
  ].join('---\n'),
  run: async (mesh, t) => {
    const client = mesh.client('v1');
    const cases: ExpectedResponse[] = [
      { testCaseName: 'Explicit port set, send to that port', request: { host: 'echo-v1', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v1' } }, backend: 'echo-v1' },
      { testCaseName: 'Explicit port, send to an excluded port', request: { host: 'echo-v1:8080', method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v1' },
      { testCaseName: 'No port set', request: { host: 'echo-v2', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v2' } }, backend: 'echo-v2' },
      { testCaseName: 'No port set', request: { host: 'echo-v2:8080', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v2' } }, backend: 'echo-v2' },
    ];
    await runCases(client, t, cases);
  },
};

export const MeshConsumerRoute: ConformanceTest = {
  shortName: 'MeshConsumerRoute',
  description: "An HTTPRoute in a namespace other than its parentRef's namespace only affects requests from the route's namespace.",
  features: [F.Mesh, F.MeshConsumerRoute, F.HTTPRoute, F.HTTPRouteResponseHeaderModification],
  manifests: httpRoute('mesh-echo-add-header', {
    parentRefs: [serviceParent('echo-v1', undefined, MESH_NS)],
    rules: [{ filters: [responseHeaderSet('X-Header-Set', 'set')], backendRefs: [backend('echo-v1', 80, { namespace: MESH_NS })] }],
  }, CONSUMER_NS),
  run: async (mesh, t) => {
    const consumer = mesh.client('v1', CONSUMER_NS);
    const producer = mesh.client('v1', MESH_NS);
    const consumerCase: ExpectedResponse = {
      testCaseName: "request from consumer route's namespace modified by HTTPRoute",
      request: { host: 'echo-v1.gateway-conformance-mesh', method: 'GET', path: '/' },
      response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } },
      backend: 'echo-v1',
    };
    const producerCase: ExpectedResponse = {
      testCaseName: "request not from consumer route's namespace not modified by HTTPRoute",
      request: { host: 'echo-v1.gateway-conformance-mesh', method: 'GET', path: '/' },
      response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] },
      backend: 'echo-v1',
    };
    await runCases(consumer, t, [consumerCase]);
    await runCases(producer, t, [producerCase]);
  },
};
